using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// One silo with three CPU nodes of two dispatcher slots each serving a tiny demo model with a
/// 1000-token vocabulary (prompts are token ids; its end-of-sequence id is 999, rare enough that most jobs run to their
/// max tokens).
/// Labels: <c>cpu0</c> has <c>region=west</c>, <c>cpu1</c> and <c>cpu2</c> have <c>region=east</c>. Queues are
/// small (12 per tenant, 30 per model) so the bounds are easy to reach. The engines batch one sequence more than the
/// dispatcher's slots: that headroom lets a preempting job start before its victim has left the batch.
/// </summary>
public sealed class SchedulingClusterFixture() : ClusterFixture(modelCache: "scheduling")
{
    public const string Model = ModelCatalogOptions.DefaultModelName;
    public const int Slots = 2;
    public const int MaxQueuedPerTenant = 12;
    public const int MaxQueuedPerModel = 30;

    /// <summary>The tiny model's end-of-sequence id.</summary>
    public const int EndOfSequence = 999;

    public static readonly string[] Devices = ["cpu0", "cpu1", "cpu2"];

    private static readonly DemoModelSpec s_model = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 1024, VocabSize = 1000 };

    /// <summary>Every settlement request a tenant grain received.</summary>
    public GridSettlements Settlements { get; } = new();

    /// <summary>Node ids, as <c>{silo}/{device}</c>.</summary>
    public string NodeId(string device) => $"{Cluster.Silos[0].Name}/{device}";

    public IModelDispatcherGrain Dispatcher => Client.GetGrain<IModelDispatcherGrain>(Model);

    protected override DemoModelSpec DemoSpec => s_model;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddTokenGridNodes();
        silo.AddTokenGridScheduling();
        silo.Services.AddTokenGridTenants();
        silo.Services.Configure<NodeOptions>(o =>
        {
            o.Devices.AddRange(Devices);
            o.IntraOpThreads = 1;
            o.Engine.MaxBatchSize = Slots + 1;
            o.ReportPeriod = TimeSpan.FromMilliseconds(500);
            o.DeviceLabels["cpu0"] = new() { ["region"] = "west" };
            o.DeviceLabels["cpu1"] = new() { ["region"] = "east" };
            o.DeviceLabels["cpu2"] = new() { ["region"] = "east" };
        });
        silo.Services.Configure<SchedulingOptions>(o =>
        {
            o.MaxQueuedPerTenant = MaxQueuedPerTenant;
            o.MaxQueuedPerModel = MaxQueuedPerModel;
            o.SlotsPerNode = Slots;
        });
        silo.AddIncomingGrainCallFilter(Settlements);
    }

    /// <summary>Creates a tenant whose budget never limits the tests: only its class, weight and labels matter.</summary>
    public async Task<string> CreateTenantAsync(PriorityClass priority = PriorityClass.Standard, int weight = 1, string? region = null)
    {
        var id = $"tenant-{Guid.NewGuid():N}";
        var budget = new TenantBudget
        {
            TokensPerMinute = 100_000_000,
            RequestsPerMinute = 100_000,
            MaxConcurrentJobs = 1000,
            Priority = priority,
            Weight = weight,
            RequiredLabels = region is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["region"] = region },
        };
        await Client.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec("Scheduling test tenant", budget));
        return id;
    }

    /// <summary>
    /// Submits a job of <paramref name="promptLength"/> token ids, greedy unless <paramref name="sampling"/> is given, with
    /// <paramref name="stop"/> sequences and <paramref name="output"/> options when given, as <paramref name="jobId"/> and
    /// one <paramref name="choice"/> of an n &gt; 1 request when given.
    /// </summary>
    public async Task<(IJobGrain Grain, JobInfo Info)> SubmitAsync(
        string tenantId, int maxTokens, int promptLength = 8, int promptSeed = 1, string[]? stop = null,
        JobSampling? sampling = null, JobOutputOptions? output = null, string? jobId = null, JobChoice? choice = null, string? outputSchema = null)
    {
        var grain = Client.GetGrain<IJobGrain>(jobId ?? $"job-{Guid.NewGuid():N}");
        var info = await grain.SubmitAsync(new JobSpec
        {
            TenantId = tenantId,
            Model = Model,
            PromptTokens = [.. Enumerable.Range(0, promptLength).Select(i => 300 + ((i * 37 + promptSeed * 11) % 600))],
            MaxTokens = maxTokens,
            Sampling = sampling ?? new JobSampling(Temperature: 0f),
            Stop = stop ?? [],
            Output = output ?? JobOutputOptions.None,
            Choice = choice,
            OutputSchema = outputSchema,
        });
        return (grain, info);
    }

    /// <summary>
    /// Completes as soon as the job has streamed its first tokens (the first chunk, which a node sends at once), or has
    /// ended: a watch of its events, so the caller acts on that chunk, not on a later poll.
    /// </summary>
    public static async Task UntilStreamingAsync(IJobGrain job)
    {
        await foreach (var e in job.WatchAsync(0))
        {
            if (e.Tokens > 0 || e is { Kind: JobEventKind.Status, Job.IsFinished: true })
            {
                return;
            }
        }
    }

    /// <summary>
    /// Completes when the job has ended, without receiving its events (a watch from past the end yields nothing and
    /// ends with the job): cheap enough for load generators.
    /// </summary>
    public static async Task EndedAsync(IJobGrain job)
    {
        await foreach (var _ in job.WatchAsync(int.MaxValue))
        {
        }
    }

    /// <summary>The final event's job.</summary>
    public static async Task<JobInfo> FinishedAsync(IJobGrain job) => (await GridWait.ReadAllAsync(job.WatchAsync(0)))[^1].Job!;

    /// <summary>Cancels every job given, so the next test starts with idle nodes.</summary>
    public static Task CancelAllAsync(IEnumerable<IJobGrain> jobs) =>
        Task.WhenAll(jobs.Select(j => j.CancelAsync(JobOutcomeReason.CancelledByTenant)));
}

/// <summary>
/// The tests that share one <see cref="SchedulingClusterFixture"/>; they run one after another, and not alongside other
/// collections: their time-to-first-token and token-share figures compare runs of a few milliseconds, which other test
/// clusters decoding on the same two cores would distort.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SchedulingCollection : ICollectionFixture<SchedulingClusterFixture>
{
    public const string Name = "Scheduling cluster";
}
