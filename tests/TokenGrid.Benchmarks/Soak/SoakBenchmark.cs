using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using TokenGrid.Silo.Tests.Cluster;
using TokenGrid.Silo.Tests.Soak;

namespace TokenGrid.Benchmarks.Soak;

/// <summary>
/// Running for months, compressed: one silo process per profile (local, then postgres) under a fixed rate of default chat
/// requests (half streamed, 32 tokens each) at about half of its measured capacity, for <c>--minutes</c> (default 10).
/// Reports, per profile (keys end in <c>_local</c> / <c>_postgres</c>): the resident memory's slope over the second
/// half, the live job activations at the end against rate × (re-attach grace + 1 minute), the last minute's p99 over the
/// first minute's after a minute of warm-up, the errors, and on postgres the growth of TokenGrid's tables per finished
/// job over the second half (retention deletes content after <c>--retention</c>, so by then a job adds its ledger lines
/// and its content-free record; PostgreSQL reuses the space of deleted content rather than returning it) and over the
/// whole run.
/// </summary>
/// <remarks>
/// <c>--profile local|postgres|both</c> (default both when PostgreSQL is given by <c>--postgres</c> or
/// <c>TOKENGRID_TEST_POSTGRES</c>, else local); <c>--rate</c> requests/s (default: half the capacity measured first with 16
/// closed-loop clients for 20 s); <c>--tokens</c> (32); <c>--grace</c> seconds of <c>TokenGrid:Jobs:ReattachGrace</c>
/// (default: the product's 120); <c>--retention</c> seconds of <c>TokenGrid:Retention:StreamedJobs</c> (default: the grace);
/// <c>--silo-log DIR</c> keeps each silo's output.
/// </remarks>
public static class SoakBenchmark
{
    private const string AdminKey = "tg-bench-admin-0123456789abcdef";
    private const string Key = "tg-bench-soak-0123456789abcdef";
    private static readonly TimeSpan s_warmUp = TimeSpan.FromMinutes(1);

    private static readonly Option<string?> s_postgres = BenchmarkCommand.Postgres();
    private static readonly Option<string?> s_profile = new Option<string?>("--profile") { Description = "Profiles to run. Default: both when PostgreSQL is given, else local.", HelpName = "local|postgres|both" }.AcceptOnlyFromAmong("local", "postgres", "both");
    private static readonly Option<int> s_minutes = BenchmarkCommand.Int("--minutes", 10, "Minutes per profile.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 32, "Tokens per request.");
    private static readonly Option<int> s_grace = BenchmarkCommand.Int("--grace", 120, "Re-attach grace in seconds.");
    private static readonly Option<int?> s_retention = new Option<int?>("--retention") { Description = "Seconds before a finished chat's content is deleted. Default: the grace.", HelpName = "N" };
    private static readonly Option<double?> s_rate = new Option<double?>("--rate") { Description = "Requests per second. Default: half the measured capacity.", HelpName = "R" };
    private static readonly Option<string?> s_siloLog = new Option<string?>("--silo-log") { Description = "A folder to keep each silo's whole output in (soak-local.log, soak-postgres.log). Default: none.", HelpName = "DIR" };

    /// <summary>The <c>soak</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "soak", "Running for months, compressed: one silo process per profile under a fixed rate at about half its capacity.", RunAsync, s_postgres, s_profile, s_minutes, s_tokens, s_grace, s_retention, s_rate, s_siloLog);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var server = BenchDatabase.ServerFrom(args.GetValue(s_postgres));
        var profile = args.GetValue(s_profile) ?? (server is null ? "local" : "both");
        if (profile != "local")
        {
            // Checked before the local profile's minutes run, not after them.
            server = BenchDatabase.RequireServer(server, $"--profile {profile}");
        }

        var minutes = args.GetValue(s_minutes);
        var tokens = args.GetValue(s_tokens);
        var grace = TimeSpan.FromSeconds(args.GetValue(s_grace));
        var report = new BenchmarkReport("soak")
            .Add("processors", Environment.ProcessorCount)
            .Add("minutes", minutes)
            .Add("tokens", tokens)
            .Add("reattach_grace_seconds", grace.TotalSeconds)
            .Add("retention_seconds", args.GetValue(s_retention) ?? (int)grace.TotalSeconds);
        foreach (var name in profile == "both" ? ["local", "postgres"] : new[] { profile })
        {
            await using var database = name == "postgres"
                ? await BenchDatabase.CreateAsync(server!, migrate: true)
                : null;
            await RunProfileAsync(report, name, database, args, TimeSpan.FromMinutes(minutes), tokens, grace);
        }

        return report;
    }

    private static async Task RunProfileAsync(
        BenchmarkReport report, string profile, BenchDatabase? database, ParseResult args, TimeSpan duration, int tokens, TimeSpan grace)
    {
        var settings = SoakRun.SiloSettings(profile, AdminKey, Key, grace);
        // Content of finished chats is deleted this long after they end (the product's default is 10 minutes, as long as
        // the run itself): shorter, so the run reaches the steady state where storage holds content-free records only.
        settings["TokenGrid:Retention:StreamedJobs"] = TimeSpan.FromSeconds(args.GetValue(s_retention) ?? (int)grace.TotalSeconds).ToString("c", CultureInfo.InvariantCulture);
        if (database is not null)
        {
            settings["TokenGrid:Database:ConnectionString"] = database.ConnectionString;
            settings["TokenGrid:Cluster:ClusterId"] = "bench-soak";
            settings["TokenGrid:Cluster:AdvertisedAddress"] = "127.0.0.1";
        }

        var logFolder = args.GetValue(s_siloLog);
        await using var silo = SiloProcess.Start($"soak-{profile}", settings, logFolder is null ? null : Path.Combine(logFolder, $"soak-{profile}.log"));
        await silo.WaitReadyAsync(TimeSpan.FromMinutes(3));
        var capacity = await CapacityAsync(silo, tokens);
        var rate = args.GetValue(s_rate) is { } given ? given : Math.Max(1, Math.Round(capacity / 2, 1));
        var bytesBefore = database is null ? [] : await TableBytesAsync(database);
        Console.WriteLine($"soak {profile}: capacity {capacity:0.0} requests/s, running {rate} requests/s for {duration}");

        // Table bytes at half time too: once retention runs, the second half's growth per job is what each job keeps.
        var halfway = database is null ? Task.FromResult(new Dictionary<string, long>()) : Task.Delay(duration / 2).ContinueWith(_ => TableBytesAsync(database)).Unwrap();
        using var stopWatching = new CancellationTokenSource();
        var maintenance = database is null ? Task.FromResult(new List<string>()) : WatchMaintenanceAsync(database, stopWatching.Token);
        var result = await SoakRun.RunAsync(silo, Key, rate, duration, tokens, TimeSpan.FromSeconds(10));
        await stopWatching.CancelAsync();
        var suffix = "_" + profile;
        var firstMinute = (s_warmUp, s_warmUp + TimeSpan.FromMinutes(1));
        var lastMinute = (duration - TimeSpan.FromMinutes(1), duration);
        var live = result.Samples[^1].JobActivations;
        report
            .Add("soak_capacity_requests_per_s" + suffix, capacity)
            .Add("soak_rate_requests_per_s" + suffix, rate)
            .Add("soak_requests" + suffix, result.Requests.Count)
            .Add("soak_errors" + suffix, result.Errors.Count)
            .Add("soak_rss_start_mb" + suffix, result.Samples[0].WorkingSetMb)
            .Add("soak_rss_end_mb" + suffix, result.Samples[^1].WorkingSetMb)
            .Add("soak_rss_slope_mb_per_min" + suffix, result.WorkingSetSlopeMbPerMinute(duration / 2))
            .Add("soak_live_job_activations" + suffix, live)
            .Add("soak_live_job_activations_bound" + suffix, rate * (grace + TimeSpan.FromMinutes(1)).TotalSeconds)
            .Add("soak_p99_first_minute_s" + suffix, result.P99Seconds(firstMinute.Item1, firstMinute.Item2))
            .Add("soak_p99_last_minute_s" + suffix, result.P99Seconds(lastMinute.Item1, lastMinute.Item2))
            .Add("soak_p99_drift" + suffix,
                result.P99Seconds(lastMinute.Item1, lastMinute.Item2) / result.P99Seconds(firstMinute.Item1, firstMinute.Item2));

        // Every minute's p99 (by when requests were sent), so a drift can be told from one slow minute.
        var minutes = (int)Math.Ceiling(duration.TotalMinutes);
        report.Add("soak_p99_by_minute_s" + suffix, string.Join(" ", Enumerable.Range(0, minutes).Select(m =>
            result.P99Seconds(TimeSpan.FromMinutes(m), TimeSpan.FromMinutes(Math.Min(m + 1, duration.TotalMinutes))).ToString("0.000", CultureInfo.InvariantCulture))));

        // The seconds (by when requests were sent, after the warm-up) holding the most requests slower than the whole run's
        // p99: whether the slow tail is a few stalls, and when, next to the maintenance below.
        var p99 = result.P99Seconds(s_warmUp, duration);
        report.Add("soak_slow_seconds" + suffix, string.Join(" ", result.Requests
            .Where(r => r.Error is null && r.SentAt >= s_warmUp && r.Latency.TotalSeconds > p99)
            .GroupBy(r => (int)r.SentAt.TotalSeconds)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(8)
            .Select(g => $"{g.Key / 60}:{g.Key % 60:00}×{g.Count()}")));
        if (database is not null)
        {
            // When PostgreSQL checkpointed and autovacuumed during the run: what a minute's p99 may have waited behind.
            report.Add("soak_pg_maintenance" + suffix, string.Join("; ", await maintenance));
        }
        if (database is not null)
        {
            var bytesAfter = await TableBytesAsync(database);
            var atHalf = await halfway;
            var secondHalf = Math.Max(1, result.Requests.Count(r => r.SentAt >= duration / 2));
            report
                .Add("soak_pg_bytes_per_job_whole_run" + suffix, (bytesAfter.Values.Sum() - bytesBefore.Values.Sum()) / (double)Math.Max(1, result.Requests.Count))
                .Add("soak_pg_bytes_per_job" + suffix, (bytesAfter.Values.Sum() - atHalf.Values.Sum()) / (double)secondHalf);

            // Where each job's bytes go over the second half, table by table (with its indexes and TOAST).
            foreach (var (table, bytes) in bytesAfter.OrderByDescending(t => t.Value - atHalf.GetValueOrDefault(t.Key)))
            {
                var grown = bytes - atHalf.GetValueOrDefault(table);
                if (grown != 0)
                {
                    report.Add($"soak_pg_bytes_per_job_{table}" + suffix, grown / (double)secondHalf);
                }
            }
        }

        foreach (var error in result.Errors.Take(5))
        {
            Console.WriteLine($"  error at {error.SentAt.TotalSeconds:0.0} s: {error.Error}");
        }

        Console.WriteLine("  samples: " + string.Join(", ", result.Samples.Select(s => $"{s.At.TotalMinutes:0.0}m {s.WorkingSetMb:0}MB (gc {s.GcCommittedMb:0}) {s.JobActivations}jobs gen2 {s.Gen2Collections} pause {s.GcPauseSeconds * 1000:0}ms swept {s.SweptJobs} in {s.SweepSeconds:0.00}s db opened {s.DbConnectionsOpened} threads {s.ThreadPoolThreads}")));
    }

    /// <summary>Requests per second that 16 clients, each sending its next request when the last is answered, get through in 20 s.</summary>
    private static async Task<double> CapacityAsync(SiloProcess silo, int tokens)
    {
        using var client = silo.Client(Key);
        var body = $$"""{"model":"demo","messages":[{"role":"user","content":"How busy is the token office?"}],"max_tokens":{{tokens}}}""";
        var clock = Stopwatch.StartNew();
        var window = TimeSpan.FromSeconds(20);
        var counts = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            var done = 0;
            while (clock.Elapsed < window)
            {
                using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
                response.EnsureSuccessStatusCode();
                done++;
            }

            return done;
        }));
        return counts.Sum() / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Polls PostgreSQL's counters every 5 s until cancelled and lists what changed, at which minute of the run:
    /// checkpoints (timed or requested) and each table's autovacuum and autoanalyze runs.
    /// </summary>
    private static async Task<List<string>> WatchMaintenanceAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        var seen = new List<string>();
        var clock = Stopwatch.StartNew();
        Dictionary<string, long>? last = null;
        try
        {
            while (true)
            {
                var now = await MaintenanceCountersAsync(database);
                foreach (var (counter, value) in now)
                {
                    if (last is not null && value > last.GetValueOrDefault(counter))
                    {
                        seen.Add($"{clock.Elapsed.TotalMinutes:0.0}m {counter}");
                    }
                }

                last = now;
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return seen;
        }
    }

    private static Task<Dictionary<string, long>> MaintenanceCountersAsync(BenchDatabase database) => NamedCountsAsync(database,
        """
        SELECT 'checkpoint (timed)', checkpoints_timed FROM pg_stat_bgwriter
        UNION ALL SELECT 'checkpoint (requested)', checkpoints_req FROM pg_stat_bgwriter
        UNION ALL SELECT 'autovacuum ' || relname, autovacuum_count FROM pg_stat_user_tables
        UNION ALL SELECT 'autoanalyze ' || relname, autoanalyze_count FROM pg_stat_user_tables
        """);

    /// <summary>Bytes of each table in the database's public schema, with its indexes and TOAST.</summary>
    private static Task<Dictionary<string, long>> TableBytesAsync(BenchDatabase database) => NamedCountsAsync(database,
        "SELECT c.relname, pg_total_relation_size(c.oid)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'");

    /// <summary>The rows of <paramref name="sql"/>, a name and a count each, by name.</summary>
    private static async Task<Dictionary<string, long>> NamedCountsAsync(BenchDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }
}
