using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Scheduling;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// A finished job's activation is collected by Orleans after the re-attach grace, not after the silo-wide collection age;
/// a running one stays. One silo whose collector runs every 100 ms, with a 3-second grace, so the collection is observed
/// within seconds. (With a 1-second grace, a watcher's calls more than a second apart on a loaded 2-core machine let the
/// collector remove the job in the middle of the test's first read, which then failed with EnumerationAbortedException.)
/// </summary>
public sealed class JobCollectionTests(JobCollectionTests.Fixture cluster) : IClassFixture<JobCollectionTests.Fixture>
{
    private static readonly TimeSpan s_grace = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_finished_job_is_collected_after_the_grace_while_a_running_job_stays()
    {
        var tenant = await cluster.CreateTenantAsync();
        var running = await cluster.StartHeldJobAsync(tenant);
        var finished = cluster.NewJob();
        await finished.SubmitAsync(cluster.Spec(tenant, maxTokens: 8));
        var live = await GridWait.ReadAllAsync(finished.WatchAsync(0));
        var info = live[^1].Job!;
        Assert.Equal(JobStatus.Succeeded, info.Status);

        // Within the grace a watcher re-attaching mid-stream continues from the live event log.
        var middle = live.First(e => e.Kind == JobEventKind.Tokens);
        var reattached = await GridWait.ReadAllAsync(finished.WatchAsync(middle.Sequence));
        Assert.Equal(info.Output, middle.Text + string.Concat(reattached.Select(e => e.Text)));
        Assert.True(await cluster.IsActiveAsync(finished));

        // The collector (every 100 ms) removes the finished job once idle for the grace; nothing else calls it.
        await Poll.UntilAsync(() => cluster.IsActiveAsync(finished), active => !active, "the finished job was collected", TimeSpan.FromSeconds(15));

        // The running job, idle for longer (its last call came before the finished job's), is still there.
        Assert.True(cluster.Held.IsParked(running.GetGrainId()));
        Assert.True(await cluster.IsActiveAsync(running));
        var stillRunning = await running.GetAsync();
        Assert.Equal(JobStatus.Running, stillRunning!.Status);

        // The finished job reactivates from storage as it ended, with its kept output.
        Assert.Equal(info, await finished.GetAsync());
        var replayed = await GridWait.ReadAllAsync(finished.WatchAsync(0));
        Assert.Equal(info.Output, string.Concat(replayed.Select(e => e.Text)));
        Assert.Equal(info, replayed[^1].Job);

        cluster.Held.Release(running.GetGrainId());
        var ended = (await GridWait.ReadAllAsync(running.WatchAsync(0)))[^1].Job!;
        Assert.True(ended.IsFinished);
        Assert.Single(cluster.Settlements.For(ended.Id));
    }

    /// <summary>One silo, memory storage, the scheduling fixture's 1000-token demo model (jobs rarely stop early).</summary>
    public class Fixture() : ClusterFixture(modelCache: "collection")
    {
        private static readonly DemoModelSpec s_model = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 1024, VocabSize = 1000 };

        public HeldRuns Held { get; } = new();

        public GridSettlements Settlements { get; } = new();

        protected override DemoModelSpec DemoSpec => s_model;

        /// <summary>How long a finished job's activation stays idle before Orleans collects it.</summary>
        protected virtual TimeSpan Grace => s_grace;

        protected override void ConfigureSilo(ISiloBuilder silo)
        {
            silo.AddTokenGridNodes();
            silo.AddTokenGridScheduling();
            silo.Services.AddTokenGridTenants();
            silo.Services.Configure<NodeOptions>(o => o.IntraOpThreads = 1);
            silo.Services.Configure<JobLifetimeOptions>(o => o.ReattachGrace = Grace);
            silo.Services.Configure<GrainCollectionOptions>(o => o.CollectionQuantum = TimeSpan.FromMilliseconds(100));
            silo.AddOutgoingGrainCallFilter(Held);
            silo.AddIncomingGrainCallFilter(Settlements);
        }

        public async Task<string> CreateTenantAsync()
        {
            var id = $"tenant-{Guid.NewGuid():N}";
            await Client.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec("Collection test tenant", new TenantBudget()));
            return id;
        }

        public IJobGrain NewJob() => Client.GetGrain<IJobGrain>($"job-{Guid.NewGuid():N}");

        public JobSpec Spec(string tenantId, int maxTokens) => new()
        {
            TenantId = tenantId,
            Model = ModelCatalogOptions.DefaultModelName,
            PromptTokens = [301, 348, 395, 442, 489, 536, 583, 630],
            MaxTokens = maxTokens,
            Sampling = new JobSampling(Temperature: 0f),
        };

        /// <summary>
        /// A job that has started running and then waits on its node stream, held (<see cref="HeldRuns"/>) from its
        /// second read on: the first read brings its first chunk, which makes it running; it cannot end while held.
        /// </summary>
        public async Task<IJobGrain> StartHeldJobAsync(string tenantId)
        {
            var job = NewJob();
            Held.Hold(job.GetGrainId());
            await job.SubmitAsync(Spec(tenantId, maxTokens: 1000));
            var info = await Poll.UntilAsync(job.GetAsync, info => info is { Status: not JobStatus.Queued }, "the job started running");
            Assert.Equal(JobStatus.Running, info!.Status);
            return job;
        }

        /// <summary>Whether the silo holds an activation of the grain (Orleans' management grain, no call to the grain).</summary>
        public async Task<bool> IsActiveAsync(IJobGrain job)
        {
            var id = job.GetGrainId();
            var activations = await Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
            return activations.Any(a => a.GrainId == id);
        }
    }
}

/// <summary>
/// Reading a job that does not exist leaves no activation behind: a tenant that asks for made-up ids must not fill the
/// silo with them (each held about 3.5 KB for the re-attach grace). The grace here is Orleans' ten minutes, so an
/// activation that went did not simply age out.
/// </summary>
public sealed class UnknownJobReadTests(UnknownJobReadTests.Fixture cluster) : IClassFixture<UnknownJobReadTests.Fixture>
{
    [Fact]
    public async Task A_read_of_a_job_that_does_not_exist_leaves_no_activation()
    {
        var jobs = Enumerable.Range(0, 20).Select(_ => cluster.NewJob()).ToList();
        foreach (var job in jobs)
        {
            Assert.Null(await job.GetAsync());
        }

        foreach (var job in jobs)
        {
            await Poll.UntilAsync(() => cluster.IsActiveAsync(job), active => !active, "the unknown job's activation went", TimeSpan.FromSeconds(60));
        }

        // An existing job is read as before, and stays.
        var tenant = await cluster.CreateTenantAsync();
        var real = cluster.NewJob();
        await real.SubmitAsync(cluster.Spec(tenant, maxTokens: 4));
        var ended = (await GridWait.ReadAllAsync(real.WatchAsync(0)))[^1].Job!;
        Assert.Equal(ended, await real.GetAsync());
        Assert.True(await cluster.IsActiveAsync(real));
    }

    /// <summary>The collection fixture with a re-attach grace far longer than the test.</summary>
    public sealed class Fixture : JobCollectionTests.Fixture
    {
        protected override TimeSpan Grace => TimeSpan.FromMinutes(10);
    }
}
