using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Capacity;

public sealed partial class CapacityGrain
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Capacity sampling of the {Source} failed")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception, string source);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "The capacity view could not read tenant {TenantId}")]
    private static partial void LogTenantReadFailed(ILogger logger, Exception exception, string tenantId);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "The capacity view could not read the tenants' versions; it shows the tenants as last read")]
    private static partial void LogTenantVersionsFailed(ILogger logger, Exception exception);
}
