using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

public sealed partial class TenantGrain
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Tenant {TenantId} created")]
    private static partial void LogCreated(ILogger logger, string tenantId);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Tenant {TenantId} updated (enabled: {Enabled})")]
    private static partial void LogUpdated(ILogger logger, string tenantId, bool enabled);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Tenant {TenantId} admitted job {JobId} on {Model}, reserving {Tokens} tokens")]
    private static partial void LogAdmitted(ILogger logger, string tenantId, string jobId, string model, long tokens);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Tenant {TenantId} rejected job {JobId} on {Model}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string tenantId, string jobId, string model, AdmissionRejection reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Debug, Message = "Tenant {TenantId} settled job {JobId} ({Outcome}): charged {Charged}, refunded {Refunded}")]
    private static partial void LogSettled(ILogger logger, string tenantId, string jobId, JobOutcome outcome, long charged, long refunded);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Tenant {TenantId} has no reservation for job {JobId}; settled nothing")]
    private static partial void LogSettledUnknownJob(ILogger logger, string tenantId, string jobId);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Tenant {TenantId} started the quota period of {PeriodStart:u}; {Cleared} charged tokens cleared")]
    private static partial void LogPeriodReset(ILogger logger, string tenantId, DateTimeOffset periodStart, long cleared);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Warning, Message = "Tenant {TenantId} was asked to reserve again for jobs settled long ago ({JobIds}); it refuses them and decides the rest of the batch again")]
    private static partial void LogReserveRefused(ILogger logger, string tenantId, string jobIds);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Information, Message = "Tenant {TenantId} issued API key {KeyId}")]
    private static partial void LogKeyIssued(ILogger logger, string tenantId, string keyId);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Information, Message = "Tenant {TenantId} revoked API key {KeyId}")]
    private static partial void LogKeyRevoked(ILogger logger, string tenantId, string keyId);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not save its state; {Steps} queued changes failed and the activation starts over from storage")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception, string tenantId, int steps);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not update its job recovery reminder")]
    private static partial void LogRecoveryReminderFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Tenant {TenantId} woke {Woken} of its {Open} open jobs to check their progress")]
    private static partial void LogRecoveryTick(ILogger logger, string tenantId, int woken, int open);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Information, Message = "Tenant {TenantId} reached {Percent}% of its spend cap this period")]
    private static partial void LogSpendThreshold(ILogger logger, string tenantId, int percent);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not post spend event {EventId} to its webhook; it tries again")]
    private static partial void LogWebhookFailed(ILogger logger, Exception exception, string tenantId, string eventId);

    [LoggerMessage(EventId = 1117, Level = LogLevel.Debug, Message = "Tenant {TenantId} could not post spend event {EventId} to its webhook, {Failures} failures in a row ({Reason}); it tries again")]
    private static partial void LogWebhookFailedAgain(ILogger logger, string tenantId, string eventId, int failures, string reason);
}
