using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Database;

/// <summary>
/// Waits until PostgreSQL accepts a connection and answers a query, retrying (a Polly pipeline with the pauses of
/// <see cref="StartupRetry"/>) within <see cref="DatabaseOptions.StartupRetryTimeout"/>: a silo started before its
/// database does not crash, and says what it is waiting for. Errors that waiting cannot fix (a wrong password, a bad
/// connection string) fail at once.
/// </summary>
public sealed partial class DatabaseWaiter(TimeProvider time, ILogger<DatabaseWaiter>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<DatabaseWaiter>.Instance;

    /// <summary>Returns once the database answers.</summary>
    /// <exception cref="DatabaseUnavailableException">It did not within the timeout, or the error is not transient.</exception>
    public async Task WaitAsync(string connectionString, DatabaseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = Describe(connectionString);
        var started = time.GetTimestamp();
        var attempts = 0;
        var remaining = options.StartupRetryTimeout;
        Exception? lastFailure = null;

        var retry = StartupRetry.Options(options);
        retry.ShouldHandle = args =>
        {
            remaining = options.StartupRetryTimeout - time.GetElapsedTime(started);
            return ValueTask.FromResult(args.Outcome.Exception is { } e && !cancellationToken.IsCancellationRequested && IsTransient(e)
                && remaining > TimeSpan.Zero);
        };
        // The last pause ends with the deadline, so the last attempt comes then rather than never.
        retry.DelayGenerator = args =>
        {
            var pause = StartupRetry.Pause(options, args.AttemptNumber);
            return ValueTask.FromResult<TimeSpan?>(pause < remaining ? pause : remaining);
        };
        retry.OnRetry = args =>
        {
            lastFailure = Reported(args.Outcome.Exception!, lastFailure);
            LogWaiting(_logger, target, args.AttemptNumber + 1, lastFailure.Message, args.RetryDelay.TotalSeconds, remaining.TotalSeconds);
            return ValueTask.CompletedTask;
        };
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(retry).Build();

        try
        {
            await pipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    await ProbeAsync(connectionString, options.StartupRetryTimeout - time.GetElapsedTime(started), token);
                },
                cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsTransient(e))
        {
            // Still transient, so the retry stopped at the deadline.
            var failure = Reported(e, lastFailure);
            LogGaveUp(_logger, target, attempts, options.StartupRetryTimeout);
            throw new DatabaseUnavailableException(
                $"PostgreSQL at {target} did not answer within {options.StartupRetryTimeout} ({attempts} attempts); last error: {failure.Message}",
                failure);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is NpgsqlException or ArgumentException)
        {
            throw new DatabaseUnavailableException($"PostgreSQL at {target} refused the connection: {e.Message}", e);
        }

        if (attempts > 1)
        {
            LogReachable(_logger, target, attempts, time.GetElapsedTime(started).TotalSeconds);
        }
    }

    // An attempt cut short by the deadline says less than the error before it.
    private static Exception Reported(Exception failure, Exception? lastFailure) =>
        failure is OperationCanceledException && lastFailure is not null ? lastFailure : failure;

    /// <summary>The host, port and database of a connection string, without credentials, for messages.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{builder.Host}:{builder.Port}/{builder.Database}";
        }
        catch (ArgumentException)
        {
            return "(invalid connection string)";
        }
    }

    private async Task ProbeAsync(string connectionString, TimeSpan remaining, CancellationToken cancellationToken)
    {
        // An attempt ends with the overall deadline, so a host that drops packets cannot stretch the wait.
        using var deadline = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        await using var connection = new NpgsqlConnection(PostgresConnections.Named(connectionString, PostgresConnections.StartupApplicationName));
        await connection.OpenAsync(linked.Token);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(linked.Token);
    }

    // Worth waiting for: nothing listening yet, a server starting or shutting down, a database not created yet.
    private static bool IsTransient(Exception e) => e switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.TooManyConnections
            || p.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient,
        OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or IOException => true,
        _ => false,
    };
}

/// <summary>The database could not be reached at startup, or the silo cannot use it as it is (its clock, its schema).</summary>
public sealed class DatabaseUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
