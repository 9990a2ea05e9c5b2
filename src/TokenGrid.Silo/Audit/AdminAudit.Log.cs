namespace TokenGrid.Silo.Audit;

internal sealed partial class AdminAudit
{
    [LoggerMessage(EventId = 3401, Level = LogLevel.Error,
        Message = "Admin action {Action} on {Target} by {Actor} was made but could not be written to the audit log")]
    private static partial void LogNotAudited(ILogger logger, Exception exception, string action, string target, string actor);
}
