namespace TokenGrid.Silo.Hosting;

internal sealed partial class StartupProvisioner
{
    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Serving models: {Models}")]
    private static partial void LogModels(ILogger logger, string models);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning,
        Message = "Profile '{Profile}' keeps all state in memory: tenants, keys, jobs and the ledger are lost when the silo stops")]
    private static partial void LogInMemory(ILogger logger, string profile);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "Demo tenant '{TenantId}' created")]
    private static partial void LogDemoCreated(ILogger logger, string tenantId);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning,
        Message = "Could not provision demo tenant '{TenantId}' (attempt {Attempt}: storage or a silo is unavailable); retrying in {Pause}")]
    private static partial void LogProvisionRetry(ILogger logger, Exception exception, string tenantId, int attempt, TimeSpan pause);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Warning,
        Message = "Demo tenant '{TenantId}' is deleted: it gets no key (configure another demo tenant id, or disable it)")]
    private static partial void LogDemoDeleted(ILogger logger, string tenantId);

    [LoggerMessage(EventId = 3307, Level = LogLevel.Warning,
        Message = "Demo tenant '{TenantId}': the configured key ({KeyId}) is revoked, so it is refused (configure another key)")]
    private static partial void LogDemoKeyRevoked(ILogger logger, string tenantId, string keyId);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Warning,
        Message = "Not serving models that could not be read: {Models} (reasons above and at GET /admin/models)")]
    private static partial void LogModelsNotServed(ILogger logger, string models);
}
