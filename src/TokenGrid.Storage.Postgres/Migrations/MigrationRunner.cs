using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace TokenGrid.Storage.Postgres.Migrations;

/// <summary>
/// Applies pending <see cref="Migration"/>s in version order and records each in <c>tokengrid_schema_migrations</c>
/// (version, name, checksum, applied_at). Every step runs in a transaction that first takes a PostgreSQL advisory lock,
/// so silos and <c>db migrate</c> runs starting together apply each migration once, and a run that dies leaves no
/// half-applied migration. Running again is a no-op; an applied migration whose text changed is an error.
/// </summary>
public sealed partial class MigrationRunner(ILogger<MigrationRunner>? logger = null)
{
    /// <summary>The advisory lock key ("TokenGrd" in ASCII): held only inside a migration step's transaction.</summary>
    public const long AdvisoryLockKey = 0x546F6B656E477264;

    /// <summary>The table recording applied migrations.</summary>
    public const string HistoryTable = "tokengrid_schema_migrations";

    private readonly ILogger _logger = logger ?? NullLogger<MigrationRunner>.Instance;

    /// <summary>Applies what <paramref name="migrations"/> (default: <see cref="Migration.All"/>) has that the database lacks.</summary>
    /// <exception cref="SchemaMigrationException">An applied migration differs from this build's.</exception>
    public async Task<MigrationResult> MigrateAsync(
        string connectionString, IReadOnlyList<Migration>? migrations = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        migrations ??= Migration.All;
        await using var connection = new NpgsqlConnection(PostgresConnections.Named(connectionString, PostgresConnections.StartupApplicationName));
        await connection.OpenAsync(cancellationToken);

        var applied = await InLockAsync(connection, async transaction =>
        {
            await ExecuteAsync(connection, transaction, $"""
                CREATE TABLE IF NOT EXISTS {HistoryTable} (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);
            return await ReadAppliedAsync(connection, transaction, cancellationToken);
        }, cancellationToken);

        Verify(migrations, applied);
        var unknown = applied.Keys.Where(v => migrations.All(m => m.Version != v)).Order().ToList();
        if (unknown.Count > 0)
        {
            LogNewerSchema(_logger, string.Join(", ", unknown));
        }

        var done = new List<Migration>();
        foreach (var migration in migrations.Where(m => !applied.ContainsKey(m.Version)))
        {
            if (await ApplyAsync(connection, migration, cancellationToken))
            {
                done.Add(migration);
            }
        }

        LogUpToDate(_logger, connection.Database, migrations.Count, done.Count);
        return new MigrationResult(done, migrations.Count - done.Count);
    }

    /// <summary>Applies one migration unless another runner did while this one waited for the lock.</summary>
    private async Task<bool> ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken) =>
        await InLockAsync(connection, async transaction =>
        {
            var applied = await ReadAppliedAsync(connection, transaction, cancellationToken);
            if (applied.ContainsKey(migration.Version))
            {
                Verify([migration], applied);
                return false;
            }

            LogApplying(_logger, migration.Version, migration.Name);
            var clock = Stopwatch.StartNew();
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = new NpgsqlCommand(
                $"INSERT INTO {HistoryTable} (version, name, checksum) VALUES ($1, $2, $3)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Checksum });
            await record.ExecuteNonQueryAsync(cancellationToken);
            LogApplied(_logger, migration.Version, migration.Name, clock.Elapsed.TotalMilliseconds);
            return true;
        }, cancellationToken);

    private static void Verify(IReadOnlyList<Migration> migrations, Dictionary<int, string> applied)
    {
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Version, out var checksum) && checksum != migration.Checksum)
            {
                throw new SchemaMigrationException(
                    $"Migration {migration.Version:D4}_{migration.Name} was applied with checksum {checksum}, but this build has {migration.Checksum}. " +
                    "Applied migrations must not change: add a new migration instead.");
            }
        }
    }

    private static async Task<T> InLockAsync<T>(
        NpgsqlConnection connection, Func<NpgsqlTransaction, Task<T>> step, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdvisoryLockKey });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        var result = await step(transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private static async Task<Dictionary<int, string>> ReadAppliedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT version, checksum FROM {HistoryTable}", connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var applied = new Dictionary<int, string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = reader.GetString(1);
        }

        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>What a migration run did.</summary>
/// <param name="Applied">The migrations this run applied, in order.</param>
/// <param name="AlreadyApplied">How many of the build's migrations the database already had.</param>
public sealed record MigrationResult(IReadOnlyList<Migration> Applied, int AlreadyApplied);

/// <summary>The database's schema history contradicts this build's migrations.</summary>
public sealed class SchemaMigrationException(string message) : Exception(message);
