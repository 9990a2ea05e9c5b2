using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Benchmarks.Grid;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Storage;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Benchmarks.Scheduling;

/// <summary>
/// Placement decisions of one model's dispatcher grain with 1,000 jobs queued across 8 nodes (synthetic reports in the
/// registry, 4 slots each), against a no-op grain call in the same silo, interleaved. Placeholder jobs hold every slot,
/// the jobs queue, then the placeholders end: each dispatch calls its job back (one-way); the job, unknown to its grain, gives
/// the slot straight back, which triggers the next dispatch. So a dispatch costs one decision (class, fair share,
/// labels, node choice among 8) and two grain messages, and the run drains the queue as fast as the grain can.
/// <c>policy_decisions_per_s</c> is the decision alone (fair queue and placement policy, no grain), for comparison.
/// </summary>
public static class SchedulerBenchmark
{
    private const string Model = "bench";

    /// <summary>Slots per node: the synthetic reports' batch size.</summary>
    private const int Slots = 4;

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_jobs = BenchmarkCommand.Int("--jobs", 1000, "Jobs per round.");
    private static readonly Option<int> s_nodes = BenchmarkCommand.Int("--nodes", 8, "Nodes.");
    private static readonly Option<int> s_tenants = BenchmarkCommand.Int("--tenants", 10, "Tenants.");

    /// <summary>The <c>scheduler</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "scheduler", "Scheduling decisions per second over many jobs, nodes and tenants.", RunAsync, s_rounds, s_jobs, s_nodes, s_tenants);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var jobs = args.GetValue(s_jobs);
        var nodes = args.GetValue(s_nodes);
        var tenants = args.GetValue(s_tenants);
        var cacheRoot = Path.Combine(Path.GetTempPath(), "tokengrid-bench-scheduler");
        var spec = new DemoModelSpec { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 128, VocabSize = 1000 };
        DemoModelBuilder.EnsureBuilt(cacheRoot, spec);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .UseOrleans(silo => silo.UseLocalhostClustering(siloPort: 11312, gatewayPort: 31312).AddInProcessGrainStorage()
                .AddTokenGridNodes().AddTokenGridScheduling())
            .ConfigureServices(services =>
            {
                services.Configure<ModelCatalogOptions>(o => (o.DemoSpec, o.DemoCacheRoot) = (spec, cacheRoot));
                services.Configure<SchedulingOptions>(o => (o.MaxQueuedPerModel, o.MaxQueuedPerTenant) = (jobs * 2, jobs));
            })
            .Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var dispatcher = grains.GetGrain<IModelDispatcherGrain>(Model);
        var noop = grains.GetGrain<INoopGrain>("bench");

        await DrainAsync(grains, dispatcher, "warm", 200, nodes, tenants);
        var dispatchRates = new List<double>();
        var noopRates = new List<double>();
        var decisionRates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            dispatchRates.Add(await DrainAsync(grains, dispatcher, $"r{round}", jobs, nodes, tenants));
            noopRates.Add(await NoopsAsync(noop, jobs * 4));
            decisionRates.Add(PolicyDecisions.Rate(jobs, nodes, tenants));
        }

        await host.StopAsync();
        var dispatches = Stats.Median(dispatchRates);
        var noops = Stats.Median(noopRates);
        return new BenchmarkReport("scheduler")
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("queued_jobs", jobs)
            .Add("nodes", nodes)
            .Add("tenants", tenants)
            .Add("dispatch_per_s", dispatches)
            .Add("noop_calls_per_s", noops)
            .Add("dispatch_vs_noop", dispatches / noops)
            .Add("policy_decisions_per_s", Stats.Median(decisionRates));
    }

    /// <summary>
    /// Queues <paramref name="jobs"/> jobs behind placeholders holding every slot, ends the placeholders, and times the
    /// queue draining. (Draining nodes would not do: a dispatcher refuses what only draining nodes could run.)
    /// </summary>
    private static async Task<double> DrainAsync(IGrainFactory grains, IModelDispatcherGrain dispatcher, string prefix, int jobs, int nodes, int tenants)
    {
        await ReportNodesAsync(grains, nodes);
        await dispatcher.RefreshAsync();
        var now = DateTimeOffset.UtcNow;
        // The placeholders cannot be preempted: nothing leaves the queue until they end.
        var holds = Enumerable.Range(0, nodes * Slots).Select(h => (Job: $"{prefix}-hold-{h}", Node: $"bench/gpu{h / Slots}")).ToList();
        foreach (var (job, node) in holds)
        {
            await dispatcher.AdoptAsync(
                new DispatchRequest { JobId = job, TenantId = "hold", Preemptible = false, PromptTokens = 1, MaxTokens = 1, EnqueuedAt = now, Resumed = true }, node);
        }

        await Task.WhenAll(Enumerable.Range(0, jobs).Select(i => dispatcher.EnqueueAsync(new DispatchRequest
        {
            JobId = $"{prefix}-{i}",
            TenantId = $"tenant-{i % tenants}",
            Priority = (PriorityClass)(i % 3),
            Weight = 1 + (i % tenants % 4),
            PromptTokens = 20 + (i % 50),
            MaxTokens = 40 + (i % 200),
            EnqueuedAt = now,
        })));
        var queued = await dispatcher.GetSnapshotAsync();
        if (queued.Queued != jobs)
        {
            throw new InvalidOperationException($"Expected {jobs} queued jobs, found {queued.Queued} (running {queued.Running}, preemptions {queued.Preemptions}).");
        }

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(holds.Select(h => dispatcher.ReleaseAsync(h.Job, h.Node, 0)));
        while ((await dispatcher.GetSnapshotAsync()) is { Queued: > 0 } or { Running: > 0 })
        {
            // Poll lightly: the snapshot is a call to the grain being measured.
            await Task.Delay(1);
        }

        return jobs / clock.Elapsed.TotalSeconds;
    }

    private static Task ReportNodesAsync(IGrainFactory grains, int nodes)
    {
        var registry = grains.GetGrain<INodeRegistryGrain>(0);
        return Task.WhenAll(Enumerable.Range(0, nodes).Select(n => registry.ReportAsync(new NodeReport
        {
            NodeId = $"bench/gpu{n}",
            Silo = "bench",
            Device = $"gpu{n}",
            Provider = "Cuda",
            Models = [Model],
            LoadableModels = [Model],
            MaxBatchSize = Slots,
            TokensPerSecond10s = 1000 + (n * 10),
            ReportedAt = DateTimeOffset.UtcNow,
        })));
    }

    private static async Task<double> NoopsAsync(INoopGrain noop, int calls)
    {
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                await noop.PingAsync(i);
            }
        }));
        return calls / clock.Elapsed.TotalSeconds;
    }
}
