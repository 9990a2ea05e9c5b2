using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Benchmarks.Grid;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Silo.Tests.Cluster;

namespace TokenGrid.Benchmarks.Cluster;

/// <summary>
/// Real silo processes on PostgreSQL, as scripts/cluster.sh runs them. Streaming completions over HTTP against a
/// 1-silo cluster and a 3-silo cluster (clients spread over the silos), rounds interleaved in one run; then failover
/// time on the 3-silo cluster: from kill -9 of the silo whose node runs a job to that job producing tokens again on
/// another node, against the configured membership probe timeout.
/// </summary>
/// <remarks>
/// PostgreSQL comes from <c>--postgres CONNECTION-STRING</c> or <c>TOKENGRID_TEST_POSTGRES</c> (a role that may create
/// databases); each cluster gets a fresh database, dropped at the end. Every node runs its engine on one intra-op thread.
/// </remarks>
public static class ClusterBenchmark
{
    private const string AdminKey = "tg-bench-admin-0123456789abcdef";
    private const string Key = "tg-bench-cluster-0123456789abcdef";
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_startBound = TimeSpan.FromMinutes(3);

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 64, "New tokens per request.");
    private static readonly Option<int> s_clients = BenchmarkCommand.Int("--clients", 32, "Concurrent streaming clients.");
    private static readonly Option<int> s_kills = BenchmarkCommand.Int("--kills", 2, "Failovers measured (kill -9 of the silo running a job).");
    private static readonly Option<string?> s_postgres = BenchmarkCommand.Postgres();

    /// <summary>The <c>cluster</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "cluster", "Real silo processes on PostgreSQL: 1-silo against 3-silo throughput, then failover time.", RunAsync, s_rounds, s_tokens, s_clients, s_kills, s_postgres);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var clients = args.GetValue(s_clients);
        var kills = args.GetValue(s_kills);
        var server = BenchDatabase.RequireServer(args.GetValue(s_postgres), "The cluster benchmark");

        var directory = DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        var prompts = Workload.Prompts(model, clients, 16);

        await using var one = await BenchCluster.StartAsync(server, "one", 1);
        await using var three = await BenchCluster.StartAsync(server, "three", 3);
        await StreamAsync(one, prompts.Take(4).ToList(), 4);
        await StreamAsync(three, prompts.Take(4).ToList(), 4);
        var oneRates = new List<double>();
        var threeRates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            oneRates.Add(await Workload.RateAsync(() => StreamAsync(one, prompts, newTokens)));
            threeRates.Add(await Workload.RateAsync(() => StreamAsync(three, prompts, newTokens)));
        }

        await one.DisposeAsync();
        var failovers = new List<double>();
        for (var kill = 0; kill < kills; kill++)
        {
            failovers.Add(await FailoverAsync(three));
        }

        return new BenchmarkReport("cluster")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("clients", clients)
            .Add("new_tokens", newTokens)
            .Add("silos_1_tokens_per_s", Stats.Median(oneRates))
            .Add("silos_3_tokens_per_s", Stats.Median(threeRates))
            .Add("three_silos_vs_one", Stats.Median(threeRates) / Stats.Median(oneRates))
            .Add("kills", kills)
            .Add("failover_seconds", Stats.Median(failovers))
            .Add("failover_seconds_max", failovers.Max())
            .Add("probe_timeout_seconds", s_probeTimeout.TotalSeconds)
            .Add("failover_vs_probe_timeout", Stats.Median(failovers) / s_probeTimeout.TotalSeconds);
    }

    /// <summary>Every prompt streamed at once, spread round-robin over the cluster's silos; the tokens they report.</summary>
    private static async Task<long> StreamAsync(BenchCluster cluster, IReadOnlyList<int[]> prompts, int newTokens)
    {
        var silos = cluster.Silos.Where(s => !s.Process.HasExited).ToList();
        var counts = await Task.WhenAll(prompts.Select((prompt, i) =>
            GridBenchmark.StreamAllAsync(silos[i % silos.Count].Http, [prompt], newTokens)));
        return counts.Sum();
    }

    /// <summary>
    /// Submits long jobs until one runs on a node of a silo other than the first, kills that silo outright, and times
    /// until the job's tokens grow again on another node. The killed silo is started again afterwards.
    /// </summary>
    private static async Task<double> FailoverAsync(BenchCluster cluster)
    {
        var entry = cluster.Silos[0];
        var jobs = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var submitted = await entry.Http.PostAsJsonAsync("/v1/jobs", new { model = "demo", prompt = "The token office", max_tokens = 500, temperature = 0 });
            submitted.EnsureSuccessStatusCode();
            jobs.Add((await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
        }

        string? victimNode = null;
        string? watched = null;
        var produced = 0;
        while (victimNode is null)
        {
            foreach (var id in jobs)
            {
                var job = await JobAsync(entry, id);
                if (job["node_id"]?.GetValue<string>() is { } node && !node.StartsWith(entry.Name + "/", StringComparison.Ordinal)
                    && job["usage"]?["completion_tokens"]?.GetValue<int>() is > 0 and var tokens)
                {
                    (victimNode, watched, produced) = (node, id, tokens);
                    break;
                }
            }
        }

        var victim = cluster.Silos.Single(s => victimNode.StartsWith(s.Name + "/", StringComparison.Ordinal));
        var clock = Stopwatch.StartNew();
        victim.Process.Kill();
        while (true)
        {
            var job = await JobAsync(entry, watched!);
            if (job["node_id"]?.GetValue<string>() is { } node && node != victimNode
                && job["usage"]?["completion_tokens"]?.GetValue<int>() > produced)
            {
                break;
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"Job {watched} did not resume within two minutes of killing {victim.Name}.");
            }

            await Task.Delay(20);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var id in jobs)
        {
            using var _ = await entry.Http.PostAsync($"/v1/jobs/{id}/cancel", null);
        }

        await cluster.RestartAsync(victim);
        return seconds;
    }

    private static async Task<JsonObject> JobAsync(BenchSilo silo, string id)
    {
        while (true)
        {
            using var response = await silo.Http.GetAsync($"/v1/jobs/{id}");
            if (response.IsSuccessStatusCode)
            {
                return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            }

            // 503 while membership has not yet declared the dead silo: ask again.
            await Task.Delay(20);
        }
    }

    private sealed record BenchSilo(string Name, SiloProcess Process, HttpClient Http);

    /// <summary>A cluster of silo processes in a database of its own.</summary>
    private sealed class BenchCluster(BenchDatabase database, Dictionary<string, string> settings) : IAsyncDisposable
    {
        public List<BenchSilo> Silos { get; } = [];

        public static async Task<BenchCluster> StartAsync(string server, string name, int silos)
        {
            var database = await BenchDatabase.CreateAsync(server, migrate: true);
            var settings = new Dictionary<string, string>
            {
                ["profile"] = "postgres",
                ["TokenGrid:Database:ConnectionString"] = database.ConnectionString,
                ["TokenGrid:Cluster:ClusterId"] = $"bench-{name}",
                ["TokenGrid:Cluster:AdvertisedAddress"] = "127.0.0.1",
                ["TokenGrid:Cluster:Membership:ProbeTimeout"] = s_probeTimeout.ToString("c", CultureInfo.InvariantCulture),
                ["TokenGrid:Jobs:RecoveryPeriod"] = "00:00:02",
                ["TokenGrid:Admin:ApiKey"] = AdminKey,
                ["TokenGrid:Demo:ApiKey"] = Key,
                ["TokenGrid:Demo:Budget:RequestsPerMinute"] = "1000000",
                ["TokenGrid:Demo:Budget:TokensPerMinute"] = "1000000000",
                ["TokenGrid:Demo:Budget:MaxConcurrentJobs"] = "1000",
                ["TokenGrid:Demo:Budget:PeriodQuota"] = "1000000000000",
                ["TokenGrid:Nodes:IntraOpThreads"] = "1",
                ["TokenGrid:Nodes:Engine:MaxBatchSize"] = "32",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            var cluster = new BenchCluster(database, settings);
            for (var i = 1; i <= silos; i++)
            {
                await cluster.AddAsync($"{name}{i}");
            }

            return cluster;
        }

        /// <summary>Starts a silo again under the name of one that died, and waits until it is ready.</summary>
        public async Task RestartAsync(BenchSilo dead)
        {
            await dead.Process.DisposeAsync();
            dead.Http.Dispose();
            Silos.Remove(dead);
            await AddAsync(dead.Name);
        }

        private async Task AddAsync(string name)
        {
            var process = SiloProcess.Start(name, settings);
            await process.WaitReadyAsync(s_startBound);
            var http = process.Client(Key);
            http.Timeout = TimeSpan.FromMinutes(5);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            Silos.Add(new BenchSilo(name, process, http));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var silo in Silos)
            {
                await silo.Process.DisposeAsync();
                silo.Http.Dispose();
            }

            Silos.Clear();
            await database.DisposeAsync();
        }
    }
}
