namespace TokenGrid.Silo.Serving;

internal static partial class JobOutput
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Cancelling job {JobId} after the client left failed")]
    private static partial void LogCancelFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Watch of job {JobId} broke after event {Sequence}; re-attaching")]
    private static partial void LogReattaching(ILogger logger, Exception? exception, string jobId, long sequence);
}
