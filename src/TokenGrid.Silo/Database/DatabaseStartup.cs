using Microsoft.Extensions.Options;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Database;

/// <summary>
/// The first step of the silo's start, before Orleans touches the database: waits for PostgreSQL (see
/// <see cref="DatabaseWaiter"/>), then applies pending migrations when <see cref="DatabaseOptions.MigrateOnStartup"/>
/// is set. Until it completes the silo has not joined, so <c>/health/ready</c> reports not ready.
/// </summary>
internal sealed partial class DatabaseStartup(
    IOptions<DatabaseOptions> options, DatabaseWaiter waiter, MigrationRunner migrations, ILogger<DatabaseStartup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DatabaseStartup), ServiceLifecycleStage.First, StartAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var database = options.Value;
        var connectionString = database.RequireConnectionString();
        LogChecking(logger, DatabaseWaiter.Describe(connectionString));
        await waiter.WaitAsync(connectionString, database, cancellationToken);
        if (database.MigrateOnStartup)
        {
            await migrations.MigrateAsync(connectionString, Migration.All, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Checking PostgreSQL at {Target} before the silo starts")]
    private static partial void LogChecking(ILogger logger, string target);
}
