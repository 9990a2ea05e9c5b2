using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Database;

/// <summary>
/// Compares this host's clock with PostgreSQL's (<c>clock_timestamp()</c>), the one clock all silos share. Each silo
/// stamps ledger lines (and so the month and day they are billed in), period resets, job and key times, and Orleans'
/// heartbeats and silo generations with its own clock, so the silos' clocks must agree. At start an offset beyond
/// <see cref="DatabaseOptions.MaxClockOffset"/> stops the silo with one line; while it runs it is checked every
/// <see cref="DatabaseOptions.ClockCheckInterval"/>, logged as an Error while beyond, and served as the
/// <c>tokengrid_clock_offset_seconds</c> gauge.
/// </summary>
/// <param name="host">The clock compared: the host's (<see cref="TimeProvider.System"/>), not the app's, which a test may fake.</param>
/// <param name="options">The connection string, <see cref="DatabaseOptions.MaxClockOffset"/> and <see cref="DatabaseOptions.ClockCheckInterval"/>.</param>
/// <param name="logger">Where an offset beyond the limit is said.</param>
/// <param name="instruments">Where the offset is recorded as a gauge, when the silo has metrics.</param>
public sealed partial class DatabaseClock(
    TimeProvider host, IOptions<DatabaseOptions> options, ILogger<DatabaseClock> logger, TokenGridInstruments? instruments = null)
    : BackgroundService
{
    // Readings taken per check; the one with the shortest round trip is kept, as NTP does.
    private const int Samples = 3;

    /// <summary>Measures the offset and stops the start when it is beyond <see cref="DatabaseOptions.MaxClockOffset"/>.</summary>
    /// <exception cref="DatabaseUnavailableException">This host's clock is too far from the database's.</exception>
    public async Task CheckAtStartAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var reading = await ReadAsync(connectionString, cancellationToken);
        instruments?.OnClockOffset(reading.Offset);
        var target = DatabaseWaiter.Describe(connectionString);
        if (IsBeyond(reading))
        {
            LogOffsetAtStart(logger, Describe(reading), target);
            throw new DatabaseUnavailableException(
                $"this silo's clock is {Describe(reading)} PostgreSQL's at {target}, and TokenGrid:Database:MaxClockOffset allows "
                + $"{options.Value.MaxClockOffset.TotalSeconds:0.###} s. Silos date ledger lines (so the month a charge is billed in) and "
                + "Orleans' heartbeats with their own clocks; synchronize this host's clock (NTP, chrony) and start it again.");
        }

        LogOffset(logger, reading.Offset.TotalMilliseconds, reading.RoundTrip.TotalMilliseconds / 2, target);
    }

    /// <summary>Measures the offset, records it, and logs an Error when it is beyond <see cref="DatabaseOptions.MaxClockOffset"/>.</summary>
    public async Task<ClockReading> CheckAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var reading = await ReadAsync(connectionString, cancellationToken);
        instruments?.OnClockOffset(reading.Offset);
        if (IsBeyond(reading))
        {
            LogOffsetWhileRunning(logger, Describe(reading), DatabaseWaiter.Describe(connectionString), options.Value.MaxClockOffset.TotalSeconds);
        }

        return reading;
    }

    /// <summary>This host's clock minus PostgreSQL's, from the reading with the shortest round trip.</summary>
    public async Task<ClockReading> ReadAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(PostgresConnections.Named(connectionString, PostgresConnections.StartupApplicationName));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        ClockReading? best = null;
        for (var i = 0; i < Samples; i++)
        {
            var sent = host.GetUtcNow();
            // The round trip in real time: a test's host clock need not move.
            var started = Stopwatch.GetTimestamp();
            var database = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
            var roundTrip = Stopwatch.GetElapsedTime(started);
            var reading = new ClockReading(sent + roundTrip / 2 - new DateTimeOffset(database, TimeSpan.Zero), roundTrip);
            if (best is null || reading.RoundTrip < best.Value.RoundTrip)
            {
                best = reading;
            }
        }

        return best!.Value;
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = options.Value.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return;
        }

        // Real time, like the database wait: the app's clock may be a test's, which does not move by itself.
        using var timer = new PeriodicTimer(options.Value.ClockCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckAsync(connectionString, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is NpgsqlException or TimeoutException or IOException)
            {
                // An outage is reported by everything else that uses the database; the next check measures again.
                LogUnreadable(logger, e.Message);
            }
        }
    }

    // Only an offset the round trip cannot explain counts.
    private bool IsBeyond(ClockReading reading) => reading.Offset.Duration() - reading.RoundTrip / 2 > options.Value.MaxClockOffset;

    private static string Describe(ClockReading reading) =>
        $"{reading.Offset.Duration().TotalSeconds:0.0##} s {(reading.Offset > TimeSpan.Zero ? "ahead of" : "behind")}";
}

/// <summary>One comparison of this host's clock with the database's.</summary>
/// <param name="Offset">This host's clock minus the database's: positive when this host is ahead.</param>
/// <param name="RoundTrip">The query's round trip; the offset is known to within half of it.</param>
public readonly record struct ClockReading(TimeSpan Offset, TimeSpan RoundTrip);
