namespace TokenGrid.Silo.Database;

public sealed partial class DatabaseClock
{
    [LoggerMessage(Level = LogLevel.Information, Message = "This silo's clock is {OffsetMs:F1} ms from PostgreSQL's at {Target} (± {UncertaintyMs:F1} ms)")]
    private static partial void LogOffset(ILogger logger, double offsetMs, double uncertaintyMs, string target);

    [LoggerMessage(Level = LogLevel.Critical, Message = "This silo's clock is {Offset} PostgreSQL's at {Target}; the silo cannot start")]
    private static partial void LogOffsetAtStart(ILogger logger, string offset, string target);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "This silo's clock is {Offset} PostgreSQL's at {Target}, beyond TokenGrid:Database:MaxClockOffset ({MaxSeconds} s): "
            + "its ledger lines are dated wrong (and may fall in another month's statement), and Orleans may declare it dead; synchronize the host's clock")]
    private static partial void LogOffsetWhileRunning(ILogger logger, string offset, string target, double maxSeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The clock check could not read PostgreSQL's clock: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string reason);
}
