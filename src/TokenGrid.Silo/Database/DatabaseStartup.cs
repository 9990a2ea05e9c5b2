using Microsoft.Extensions.Options;
using Npgsql;
using TokenGrid.Storage.Postgres;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Database;

/// <summary>
/// The first step of the silo's start, before Orleans touches the database: waits for PostgreSQL (see
/// <see cref="DatabaseWaiter"/>), checks this host's clock against the database's (<see cref="DatabaseClock"/>), then applies pending migrations when <see cref="DatabaseOptions.MigrateOnStartup"/>
/// is set. Until it completes the silo has not joined, so <c>/health/ready</c> reports not ready.
/// </summary>
internal sealed partial class DatabaseStartup(
    IOptions<DatabaseOptions> options, DatabaseWaiter waiter, DatabaseClock clock, MigrationRunner migrations, ILogger<DatabaseStartup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DatabaseStartup), ServiceLifecycleStage.First, StartAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var database = options.Value;
        var connectionString = database.RequireConnectionString();
        var target = DatabaseWaiter.Describe(connectionString);
        LogChecking(logger, target);
        await waiter.WaitAsync(connectionString, database, cancellationToken);
        await clock.CheckAtStartAsync(connectionString, cancellationToken);
        if (database.MigrateOnStartup)
        {
            try
            {
                await migrations.MigrateAsync(connectionString, Migration.All, cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.InvalidSchemaName
                or PostgresErrorCodes.InvalidSchemaDefinition || e.SqlState.StartsWith("3F", StringComparison.Ordinal))
            {
                // The role may not create TokenGrid's tables (PostgreSQL 15 no longer lets every role create in public):
                // the operator's to fix, in one line, not an unhandled exception in Orleans' start.
                throw new DatabaseUnavailableException(
                    $"PostgreSQL at {target} refused TokenGrid's migrations: {e.SqlState}: {e.MessageText}; the role of "
                    + "TokenGrid:Database:ConnectionString needs to own the database, or CREATE on the schema it migrates into "
                    + "(the first of its search path); or run db migrate as a role that has it and set TokenGrid:Database:MigrateOnStartup to false.", e);
            }
        }
        else if (await MissingAsync(connectionString, cancellationToken) is { Count: > 0 } missing)
        {
            throw new DatabaseUnavailableException(
                $"PostgreSQL at {target} lacks {missing.Count} of TokenGrid's {Migration.All.Count} migrations (from {missing[0].Version:D4}_{missing[0].Name}) "
                + "and TokenGrid:Database:MigrateOnStartup is false: run db migrate, or set it to true.",
                new SchemaMigrationException($"Missing migrations: {string.Join(", ", missing.Select(m => $"{m.Version:D4}_{m.Name}"))}."));
        }
    }

    // The build's migrations the database has not recorded; all of them when it has no history table.
    private static async Task<List<Migration>> MissingAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(PostgresConnections.Named(connectionString, PostgresConnections.StartupApplicationName));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand($"SELECT to_regclass('{MigrationRunner.HistoryTable}') IS NOT NULL", connection);
        var applied = new HashSet<int>();
        if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
        {
            await using var versions = new NpgsqlCommand($"SELECT version FROM {MigrationRunner.HistoryTable}", connection);
            await using var reader = await versions.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        return Migration.All.Where(m => !applied.Contains(m.Version)).ToList();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Checking PostgreSQL at {Target} before the silo starts")]
    private static partial void LogChecking(ILogger logger, string target);
}
