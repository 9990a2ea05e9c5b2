using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobSettlement
{
    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Job {JobId} could not be settled with tenant {TenantId}; retried every second until it is (later failures are Debug, event 1323)")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, string jobId, string tenantId);

    [LoggerMessage(EventId = 1323, Level = LogLevel.Debug, Message = "Job {JobId} could not be settled with tenant {TenantId} again ({Failures} failures); retried")]
    private static partial void LogSettleFailedAgain(ILogger logger, Exception exception, string jobId, string tenantId, int failures);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Information, Message = "Job {JobId} settled on a later try: charged {Charged}")]
    private static partial void LogSettledLate(ILogger logger, string jobId, long charged);

    [LoggerMessage(EventId = 1314, Level = LogLevel.Warning, Message = "Job {JobId} could not read its sibling choice {SiblingId} to tell whether the group's prompt ran; it settles without it")]
    private static partial void LogSiblingUnread(ILogger logger, Exception exception, string jobId, string siblingId);
}
