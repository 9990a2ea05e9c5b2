using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// Cost-aware placement through real grains: a tenant that prefers the cheapest region has its job run on the node of
/// the cheaper region, and its ledger charge says so; a residency label keeps another tenant's job in the dearer region.
/// </summary>
public sealed class CheapestPlacementGridTests(PlacementClusterFixture fixture) : IClassFixture<PlacementClusterFixture>
{
    [Fact]
    public async Task A_cheapest_tenants_job_runs_and_is_charged_in_the_cheaper_region_unless_its_labels_keep_it_out()
    {
        await PublishAsync(
            new PriceEntry(PlacementClusterFixture.Model, TokenDirection.Prompt, null, M("4")),
            new PriceEntry(PlacementClusterFixture.Model, TokenDirection.Completion, null, M("8")),
            new PriceEntry(PlacementClusterFixture.Model, TokenDirection.Completion, "south", M("2")));
        var cheapest = await fixture.CreateTenantAsync(new TenantBudget { Placement = PlacementPreference.Cheapest });
        var resident = await fixture.CreateTenantAsync(new TenantBudget
        {
            Placement = PlacementPreference.Cheapest,
            RequiredLabels = new Dictionary<string, string> { ["region"] = "north" },
        });

        // Both nodes are idle with the model loaded: without a price, the first job would go to cpu0 (north).
        var (cheapJob, cheapInfo) = await RunAsync(cheapest);
        var (residentJob, residentInfo) = await RunAsync(resident);

        Assert.Equal((fixture.NodeId("cpu1"), "south"), (cheapInfo.NodeId, cheapInfo.NodeRegion));
        Assert.Equal((fixture.NodeId("cpu0"), "north"), (residentInfo.NodeId, residentInfo.NodeRegion));
        var cheapCharge = await ChargeAsync(cheapest, cheapJob);
        var residentCharge = await ChargeAsync(resident, residentJob);
        Assert.Equal(("south", M("2")), (cheapCharge.Place!.Region, cheapCharge.Lines[1].UnitPrice));
        Assert.Equal(("north", M("8")), (residentCharge.Place!.Region, residentCharge.Lines[1].UnitPrice));
    }

    private async Task<(string JobId, JobInfo Info)> RunAsync(string tenantId)
    {
        var job = fixture.Client.GetGrain<IJobGrain>($"job-{Guid.NewGuid():N}");
        await job.SubmitAsync(new JobSpec
        {
            TenantId = tenantId,
            Model = PlacementClusterFixture.Model,
            PromptTokens = [301, 402, 503, 604],
            MaxTokens = 4,
            Sampling = new JobSampling(Temperature: 0f),
        });
        var info = (await GridWait.ReadAllAsync(job.WatchAsync(0)))[^1].Job!;
        Assert.Equal(JobStatus.Succeeded, info.Status);
        return (job.GetPrimaryKeyString(), info);
    }

    private async Task<PricedCharge> ChargeAsync(string tenantId, string jobId)
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(tenantId);
        var page = await Poll.UntilAsync(() => tenant.GetLedgerAsync(0, 100),
            p => p.Entries.Any(e => e.JobId == jobId && e.Kind == LedgerEntryKind.Charge), $"job {jobId} is charged");
        return page.Entries.Single(e => e.JobId == jobId && e.Kind == LedgerEntryKind.Charge).Priced!;
    }

    /// <summary>Publishes the card and waits until it is in force (within a lease of now, on the silo's real clock).</summary>
    private async Task PublishAsync(params PriceEntry[] prices)
    {
        var card = fixture.Client.GetGrain<IRateCardGrain>(0);
        await card.PublishAsync("USD", prices, null);
        await Poll.UntilAsync(() => card.QuoteAsync(PlacementClusterFixture.Model), quote => quote is not null, "the prices are in force");
    }

    private static Money M(string text) => Money.TryParse(text, out var money) ? money : throw new ArgumentException(text);
}

/// <summary>
/// One silo with two CPU nodes serving a tiny demo model under a name of its own (so its prices touch no other test):
/// <c>cpu0</c> in <c>region=north</c>, <c>cpu1</c> in <c>region=south</c>.
/// </summary>
public sealed class PlacementClusterFixture() : ClusterFixture(modelCache: "placement")
{
    public const string Model = "placement-demo";

    private static readonly DemoModelSpec s_model = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 256, VocabSize = 1000 };

    /// <summary>Node ids, as <c>{silo}/{device}</c>.</summary>
    public string NodeId(string device) => $"{Cluster.Silos[0].Name}/{device}";

    /// <summary>Creates an enabled tenant with <paramref name="budget"/>.</summary>
    public async Task<string> CreateTenantAsync(TenantBudget budget)
    {
        var id = $"tenant-{Guid.NewGuid():N}";
        await Client.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec("Placement test tenant", budget));
        return id;
    }

    protected override DemoModelSpec DemoSpec => s_model;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddTokenGridNodes();
        silo.AddTokenGridScheduling();
        silo.Services.AddTokenGridTenants();
        silo.Services.Configure<ModelCatalogOptions>(o => o.Entries.Add(new ModelEntry { Name = Model, Directory = ModelCatalogOptions.DemoDirectory }));
        silo.Services.Configure<NodeOptions>(o =>
        {
            o.Devices.AddRange(["cpu0", "cpu1"]);
            o.IntraOpThreads = 1;
            o.DeviceLabels["cpu0"] = new() { ["region"] = "north" };
            o.DeviceLabels["cpu1"] = new() { ["region"] = "south" };
        });
    }
}
