using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// One silo with two CPU nodes serving three small demo models under a memory budget that fits
/// <see cref="Alpha"/> or <see cref="Beta"/> but not both, and never <see cref="Huge"/> (its key/value cache at full
/// context is larger than the budget). Labels: <c>region=west</c> on both nodes, <c>pool=shared</c> on <c>cpu0</c>
/// and <c>pool=batch</c> on <c>cpu1</c>.
/// </summary>
public sealed class NodeClusterFixture() : ClusterFixture(modelCache: "node")
{
    public const string Alpha = "alpha";
    public const string Beta = "beta";
    public const string Huge = "huge";
    public const int MaxBatchSize = 4;

    private static readonly DemoModelSpec s_alpha = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 1024, Seed = 11 };
    private static readonly DemoModelSpec s_beta = new() { Layers = 1, HiddenSize = 64, Heads = 4, ContextLength = 1024, Seed = 22 };
    private static readonly DemoModelSpec s_huge = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 8192, Seed = 33 };

    /// <summary>Estimated bytes of each model on a node, by name.</summary>
    public Dictionary<string, long> Estimates { get; } = [];

    /// <summary>Each node's memory budget: all of the larger of alpha and beta plus half the smaller.</summary>
    public long Budget { get; private set; }

    public string SiloName => Cluster.Silos[0].Name;

    private Dictionary<string, string> _directories = [];

    protected override void BeforeDeploy()
    {
        _directories = new Dictionary<string, string>
        {
            [Alpha] = Models.Build(s_alpha),
            [Beta] = Models.Build(s_beta),
            [Huge] = Models.Build(s_huge),
        };
        foreach (var (name, directory) in _directories)
        {
            using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = Inference.Runtime.ExecutionProviderPreference.Cpu });
            // The nodes run the engine's default prefix cache, which their budget counts.
            var engine = new NodeOptions().Engine;
            Estimates[name] = new CatalogModel(name, model).EstimatedBytes(MaxBatchSize, engine.PrefixCacheTokens, engine.PrefixBlockTokens);
        }

        var (small, large) = (Math.Min(Estimates[Alpha], Estimates[Beta]), Math.Max(Estimates[Alpha], Estimates[Beta]));
        Budget = large + (small / 2);
        Assert.True(Estimates[Huge] > Budget, "the huge model's full batch must exceed the budget");
    }

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddTokenGridNodes();
        silo.Services.Configure<ModelCatalogOptions>(o =>
            o.Entries.AddRange(_directories.Select(d => new ModelEntry { Name = d.Key, Directory = d.Value })));
        silo.Services.Configure<NodeOptions>(o =>
        {
            o.Devices.AddRange(["cpu0", "cpu1"]);
            o.IntraOpThreads = 1;
            o.MemoryBudgetBytes = Budget;
            o.Engine.MaxBatchSize = MaxBatchSize;
            o.Labels["region"] = "west";
            o.Labels["pool"] = "shared";
            o.DeviceLabels["cpu1"] = new() { ["pool"] = "batch" };
        });
    }

    public INodeGrain Node(string device) => Client.GetGrain<INodeGrain>(NodeId.Of(SiloName, device));

    /// <summary>The silo's device (its models and counters).</summary>
    public NodeDevice Device(string device) =>
        Cluster.GetSiloServiceProvider().GetRequiredService<NodeRuntime>().TryGetDevice(device, out var node) ? node : throw new InvalidOperationException(device);

    /// <summary>The silo's catalog entry of <paramref name="model"/>.</summary>
    public CatalogModel Catalog(string model) =>
        Cluster.GetSiloServiceProvider().GetRequiredService<ModelCatalog>().TryGet(model, out var entry) ? entry : throw new InvalidOperationException(model);

    /// <summary>A greedy sequence of <paramref name="maxTokens"/> for <paramref name="model"/>.</summary>
    public static GenerationSpec Spec(string model, int maxTokens) =>
        new($"job-{Guid.NewGuid():N}", model, [1000, 2000, 3000, 4000], maxTokens, new JobSampling(0f), []);

    /// <summary>Generates to the end; returns the final piece (asserting the pieces add up to it).</summary>
    public async Task<GenerationFinal> GenerateAsync(string device, string model, int maxTokens = 4)
    {
        var chunks = await GridWait.ReadAllAsync(Node(device).GenerateAsync(Spec(model, maxTokens)));
        var final = chunks[^1].Final!;
        Assert.Equal(final.CompletionTokens, chunks.Sum(c => c.Tokens));
        return final;
    }

    /// <summary>Polls the node's report (grain calls, within a deadline) until <paramref name="condition"/> holds.</summary>
    public async Task<NodeReport> ReportWhenAsync(string device, Func<NodeReport, bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var report = await Node(device).GetReportAsync();
            if (condition(report))
            {
                return report;
            }

            Assert.False(deadline.IsCancellationRequested, $"Timed out waiting until {what}; last report: {report}");
            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>Polls <paramref name="condition"/> (grain calls) until it holds; fails after 30 seconds.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.False(deadline.IsCancellationRequested, $"Timed out waiting until {what}.");
            await Task.Delay(5, CancellationToken.None);
        }
    }
}

/// <summary>The tests that share one <see cref="NodeClusterFixture"/>; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class NodeCollection : ICollectionFixture<NodeClusterFixture>
{
    public const string Name = "Node cluster";
}
