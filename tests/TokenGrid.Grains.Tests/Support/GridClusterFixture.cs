using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// A two-silo in-process cluster (one <c>cpu0</c> node per silo, ids <c>{silo name}/cpu0</c>) with
/// memory storage, the tenant grains and a small demo model built once into a temporary directory.
/// </summary>
public sealed class GridClusterFixture() : ClusterFixture(silos: 2, modelCache: "grid")
{
    /// <summary>Small and quick, with the full cl100k vocabulary so real tokenizer text fits, and room for long jobs.</summary>
    public static DemoModelSpec ModelSpec { get; } = new() { Layers = 2, HiddenSize = 64, Heads = 4, ContextLength = 1024 };

    /// <summary>The served model's name.</summary>
    public const string Model = ModelCatalogOptions.DefaultModelName;

    /// <summary>Every settlement request a tenant grain received.</summary>
    public GridSettlements Settlements { get; } = new();

    /// <summary>Parks chosen jobs' releases of their dispatcher slots.</summary>
    public HeldReleases HeldReleases { get; } = new();

    /// <summary>Breaks chosen jobs' node streams mid-run, as a killed silo does.</summary>
    public LostNodes LostNodes { get; } = new();

    /// <summary>The model as the primary silo's catalog has it (tokenizer, context).</summary>
    public CatalogModel CatalogModel =>
        Cluster.GetSiloServiceProvider().GetRequiredService<ModelCatalog>().TryGet(Model, out var model) ? model : throw new InvalidOperationException("No demo model.");

    protected override DemoModelSpec DemoSpec => ModelSpec;

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddTokenGridNodes();
        silo.Services.AddTokenGridTenants();
        silo.AddIncomingGrainCallFilter(Settlements);
        silo.AddIncomingGrainCallFilter(HeldReleases);
        silo.AddOutgoingGrainCallFilter(HeldReleases);
        silo.AddOutgoingGrainCallFilter(LostNodes);
    }

    /// <summary>Creates an enabled tenant with a generous budget, or the given one.</summary>
    public async Task<string> CreateTenantAsync(TenantBudget? budget = null, bool enabled = true)
    {
        var id = $"tenant-{Guid.NewGuid():N}";
        await Client.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec("Test tenant", budget ?? new TenantBudget(), enabled));
        return id;
    }

    /// <summary>A new job grain.</summary>
    public IJobGrain NewJob() => Client.GetGrain<IJobGrain>($"job-{Guid.NewGuid():N}");

    /// <summary>A greedy job of <paramref name="prompt"/> for <paramref name="tenantId"/>.</summary>
    public JobSpec Spec(string tenantId, string prompt, int maxTokens, string model = Model) => new()
    {
        TenantId = tenantId,
        Model = model,
        PromptTokens = CatalogModel.Tokenizer.Encode(prompt),
        MaxTokens = maxTokens,
        Sampling = new JobSampling(Temperature: 0f),
    };

    /// <summary>
    /// Plays the death of <paramref name="job"/>'s grain from storage, after it <paramref name="ended"/>: its saved state
    /// is put back to a checkpoint holding its first <paramref name="tokens"/> tokens (ids and log probabilities, which
    /// the job must have kept), the text and sequence of <paramref name="checkpoint"/>, and no ending; then its activation
    /// is dropped. It is saved as queued, as when its node was lost before its grain, so the next activation owns no slot
    /// to give back. That activation (a watcher re-attaching wakes it) resumes from the checkpoint.
    /// </summary>
    public async Task RewindToCheckpointAsync(IJobGrain job, JobInfo ended, int tokens, JobEvent checkpoint)
    {
        var storage = Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(TokenGridStorage.Name);
        var saved = new GrainState<JobState>();
        await storage.ReadStateAsync("job", job.GetGrainId(), saved);
        var logprobs = saved.State!.Logprobs;
        Assert.Equal(ended.CompletionTokens, logprobs.Length);
        saved.State.Info = ended with
        {
            Status = JobStatus.Queued, CompletionTokens = tokens, FinishedAt = null, FinishReason = null, Output = null, ChargedTokens = null,
        };
        saved.State.Outcome = null;
        saved.State.ProducedTokens = [.. logprobs.Take(tokens).Select(l => l.TokenId)];
        saved.State.Logprobs = [.. logprobs.Take(tokens)];
        saved.State.EmittedChars = JobEventSequence.CharsOf(checkpoint.Sequence);
        saved.State.LastSequence = checkpoint.Sequence;
        saved.State.NodeLosses = 0;
        await storage.WriteStateAsync("job", job.GetGrainId(), saved);
        await Cluster.DeactivateAsync(job);
    }

    /// <summary>The tenant's ledger entries for one job.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(string tenantId, string jobId)
    {
        var page = await Client.GetGrain<ITenantGrain>(tenantId).GetLedgerAsync(0, 1000);
        return [.. page.Entries.Where(e => e.JobId == jobId)];
    }
}

/// <summary>The tests that share one <see cref="GridClusterFixture"/>; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class GridCollection : ICollectionFixture<GridClusterFixture>
{
    public const string Name = "Grid cluster";
}
