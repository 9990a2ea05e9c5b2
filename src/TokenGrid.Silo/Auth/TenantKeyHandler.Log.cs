namespace TokenGrid.Silo.Auth;

internal sealed partial class TenantKeyHandler
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Rate-limit headers for tenant {TenantId} are unavailable")]
    private static partial void LogLimitsUnavailable(ILogger logger, Exception exception, string tenantId);
}
