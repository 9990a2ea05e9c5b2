using Microsoft.Extensions.Logging;

namespace TokenGrid.Storage.Postgres.Migrations;

public sealed partial class MigrationRunner
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Applying migration {Version:D4}_{Name}")]
    private static partial void LogApplying(ILogger logger, int version, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version:D4}_{Name} in {ElapsedMs:F0} ms")]
    private static partial void LogApplied(ILogger logger, int version, string name, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database {Database} schema is up to date: {Count} migrations, {Applied} applied now")]
    private static partial void LogUpToDate(ILogger logger, string database, int count, int applied);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database has migrations this build does not know ({Versions}): it was migrated by a newer build")]
    private static partial void LogNewerSchema(ILogger logger, string versions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A migration step waited {TimeoutSeconds} s for a table lock (attempt {Attempt} of {Attempts}); rolled back, trying again: a long query holds a table it changes")]
    private static partial void LogLockBusy(ILogger logger, int attempt, int attempts, double timeoutSeconds);
}
