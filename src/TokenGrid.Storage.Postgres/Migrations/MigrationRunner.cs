using System.Diagnostics;
using System.Globalization;
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
/// <remarks>
/// A migration runs as long as its work takes (its statements ignore the connection's <c>Command Timeout</c>, 30 s by
/// default: building an index over a large ledger takes longer), but it waits at most <see cref="LockTimeout"/> for a
/// table lock. A migration that alters a table queues for its lock behind every query reading that table, and every
/// write to the table queues behind the migration: without the limit, one long report over the ledger would hold up
/// every tenant's save until it ended. A step that gave up is rolled back and tried again after a pause as long.
/// </remarks>
public sealed partial class MigrationRunner(ILogger<MigrationRunner>? logger = null)
{
    /// <summary>The advisory lock key ("TokenGrd" in ASCII): held only inside a migration step's transaction.</summary>
    public const long AdvisoryLockKey = 0x546F6B656E477264;

    /// <summary>The table recording applied migrations.</summary>
    public const string HistoryTable = "tokengrid_schema_migrations";

    private readonly ILogger _logger = logger ?? NullLogger<MigrationRunner>.Instance;

    /// <summary>
    /// How long a migration step waits for a table lock before it gives up, rolls back and is tried again (the writers
    /// queued behind it go on meanwhile). Default: 00:00:05. Zero waits without limit.
    /// </summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many times in all a step is tried that gave up waiting for a lock; then the run fails with PostgreSQL's
    /// <c>lock_not_available</c> error. Default: 12 (about two minutes at the default <see cref="LockTimeout"/>).
    /// </summary>
    public int LockAttempts { get; init; } = 12;

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

    /// <summary>
    /// Runs <paramref name="step"/> in a transaction that holds the advisory lock, with table locks limited to
    /// <see cref="LockTimeout"/>; a step that gave up waiting for one is run again (it must be repeatable).
    /// </summary>
    private async Task<T> InLockAsync<T>(
        NpgsqlConnection connection, Func<NpgsqlTransaction, Task<T>> step, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await InLockOnceAsync(connection, step, cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < LockAttempts)
            {
                LogLockBusy(_logger, attempt, LockAttempts, LockTimeout.TotalSeconds);
                await Task.Delay(LockTimeout, cancellationToken);
            }
        }
    }

    private async Task<T> InLockOnceAsync<T>(
        NpgsqlConnection connection, Func<NpgsqlTransaction, Task<T>> step, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction) { CommandTimeout = 0 })
        {
            // Waits as long as another runner's migration takes.
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdvisoryLockKey });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        // Set after the advisory lock, which it would limit too; local to this transaction.
        await using (var limit = new NpgsqlCommand("SELECT set_config('lock_timeout', $1, true)", connection, transaction))
        {
            var milliseconds = (long)LockTimeout.TotalMilliseconds;
            limit.Parameters.Add(new NpgsqlParameter<string> { TypedValue = milliseconds.ToString(CultureInfo.InvariantCulture) + "ms" });
            await limit.ExecuteNonQueryAsync(cancellationToken);
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
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>What a migration run did.</summary>
/// <param name="Applied">The migrations this run applied, in order.</param>
/// <param name="AlreadyApplied">How many of the build's migrations the database already had.</param>
public sealed record MigrationResult(IReadOnlyList<Migration> Applied, int AlreadyApplied);

/// <summary>The database's schema history contradicts this build's migrations.</summary>
public sealed class SchemaMigrationException(string message) : Exception(message);
