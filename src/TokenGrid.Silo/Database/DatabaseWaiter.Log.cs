namespace TokenGrid.Silo.Database;

public sealed partial class DatabaseWaiter
{
    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Waiting for PostgreSQL at {Target}: attempt {Attempt} failed ({Reason}); retrying in {DelaySeconds:F1} s, giving up in {RemainingSeconds:F0} s")]
    private static partial void LogWaiting(ILogger logger, string target, int attempt, string reason, double delaySeconds, double remainingSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL at {Target} answered after {Attempts} attempts ({ElapsedSeconds:F1} s)")]
    private static partial void LogReachable(ILogger logger, string target, int attempts, double elapsedSeconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "PostgreSQL at {Target} did not answer within {Timeout} ({Attempts} attempts); the silo cannot start")]
    private static partial void LogGaveUp(ILogger logger, string target, int attempts, TimeSpan timeout);
}
