using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace TokenGrid.Silo.Database;

/// <summary>
/// Waits until PostgreSQL accepts a connection and answers a query, retrying with exponential backoff within
/// <see cref="DatabaseOptions.StartupRetryTimeout"/>: a silo started before its database does not crash, and says
/// what it is waiting for. Errors that waiting cannot fix (a wrong password, a bad connection string) fail at once.
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
        var delay = options.StartupRetryDelay;
        Exception? lastFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            var remaining = options.StartupRetryTimeout - time.GetElapsedTime(started);
            Exception failure;
            try
            {
                await ProbeAsync(connectionString, remaining, cancellationToken);
                if (attempt > 1)
                {
                    LogReachable(_logger, target, attempt, time.GetElapsedTime(started).TotalSeconds);
                }

                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsTransient(e))
            {
                // An attempt cut short by the deadline says less than the error before it.
                failure = e is OperationCanceledException && lastFailure is not null ? lastFailure : e;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is NpgsqlException or ArgumentException)
            {
                throw new DatabaseUnavailableException($"PostgreSQL at {target} refused the connection: {e.Message}", e);
            }

            lastFailure = failure;
            remaining = options.StartupRetryTimeout - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                LogGaveUp(_logger, target, attempt, options.StartupRetryTimeout);
                throw new DatabaseUnavailableException(
                    $"PostgreSQL at {target} did not answer within {options.StartupRetryTimeout} ({attempt} attempts); last error: {failure.Message}",
                    failure);
            }

            var pause = delay < remaining ? delay : remaining;
            // The pause starts before it is announced, so whoever reads the message (a test moving a fake clock) can rely on
            // the waiter already sleeping.
            var sleep = Task.Delay(pause, time, cancellationToken);
            LogWaiting(_logger, target, attempt, failure.Message, pause.TotalSeconds, remaining.TotalSeconds);
            await sleep;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.StartupRetryMaxDelay.Ticks));
        }
    }

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
        await using var connection = new NpgsqlConnection(connectionString);
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

/// <summary>The database could not be reached at startup.</summary>
public sealed class DatabaseUnavailableException(string message, Exception innerException) : Exception(message, innerException);
