namespace TokenGrid.Silo.Problems;

internal sealed partial class ApiExceptionHandler
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, WithheldMessageException exception, string method, string path);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "{Method} {Path} failed: the database refused it (SQLSTATE {SqlState}), which a retry does not fix")]
    private static partial void LogDatabaseFault(ILogger logger, WithheldMessageException exception, string method, string path, string? sqlState);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "The unhandled error on {Method} {Path} in full")]
    private static partial void LogUnhandledInFull(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Answered {Method} {Path} with 503 ({Code}): a dependency is unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string method, string path, string code);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Answered {Method} {Path} with {Status} ({Code})")]
    private static partial void LogAnswered(ILogger logger, string method, string path, int status, string code);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "The client left before {Path} was answered")]
    private static partial void LogClientGone(ILogger logger, string path);
}
