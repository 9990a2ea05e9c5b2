using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Abstractions.Scheduling;

/// <summary>An admitted job asking its model's dispatcher for a node.</summary>
[GenerateSerializer, Immutable, Alias("tg.DispatchRequest")]
public sealed record DispatchRequest
{
    /// <summary>The job (called back with its node).</summary>
    [Id(0)] public required string JobId { get; init; }

    /// <summary>The owning tenant: its fair share is what the queue balances.</summary>
    [Id(1)] public required string TenantId { get; init; }

    /// <summary>The tenant's priority class.</summary>
    [Id(2)] public PriorityClass Priority { get; init; } = PriorityClass.Standard;

    /// <summary>The tenant's fair-share weight (at least 1).</summary>
    [Id(3)] public int Weight { get; init; } = 1;

    /// <summary>Prompt tokens of this run (for a resumed job: the original prompt plus the tokens produced so far).</summary>
    [Id(4)] public int PromptTokens { get; init; }

    /// <summary>Most tokens this run may generate.</summary>
    [Id(5)] public int MaxTokens { get; init; }

    /// <summary>Labels the node must carry; empty: any node.</summary>
    [Id(6)] public IReadOnlyDictionary<string, string> RequiredLabels { get; init; } = new Dictionary<string, string>();

    /// <summary>When the job first entered the queue; aging counts from here, across preemptions.</summary>
    [Id(7)] public DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>A preempted job coming back: it bypasses the queue bounds and goes first among its tenant's jobs.</summary>
    [Id(8)] public bool Resumed { get; init; }

    /// <summary>
    /// Whether the job can be preempted and resumed (false for jobs with stop sequences, which could straddle the
    /// preemption unseen). Default: true.
    /// </summary>
    [Id(9)] public bool Preemptible { get; init; } = true;

    /// <summary>
    /// The choice group of an <c>n</c> &gt; 1 request (<see cref="Jobs.JobChoice.GroupId"/>): the job prefers the node
    /// where a sibling runs, whose engine then copies the prompt's cache instead of prefilling it again. Null: none.
    /// </summary>
    [Id(10)] public string? AffinityKey { get; init; }

    /// <summary>
    /// For a tenant that prefers the cheapest placement (<see cref="AdmissionResult.RegionCosts"/>): the most the job can
    /// cost, in micros, per node <c>region</c> label, and under <c>""</c> in any other region. The dispatcher then prefers
    /// the allowed node whose region costs least. Null: placed as any other job.
    /// </summary>
    [Id(11)] public IReadOnlyDictionary<string, long>? RegionCosts { get; init; }

    /// <summary>
    /// With <see cref="RegionCosts"/>: how long after <see cref="EnqueuedAt"/> the job may keep waiting for a busy
    /// cheaper node while a dearer allowed one has a free slot.
    /// </summary>
    [Id(12)] public TimeSpan CheapestMaxExtraWait { get; init; }

    /// <summary>
    /// The 64-bit summaries of the prompt's prefix cache block keys in the job's scope, in order (the engine's
    /// <c>PrefixHashes.Summaries</c>): the dispatcher prefers a node whose digest holds the longest run of them. Null or
    /// empty: placement by load alone.
    /// </summary>
    [Id(13)] public ulong[]? PrefixBlocks { get; init; }

    /// <summary>
    /// Prompt tokens per block <see cref="PrefixBlocks"/> were cut at: only a node whose digest uses the same block size
    /// can match them (any other is placed by load alone). 0 with no blocks.
    /// </summary>
    [Id(14)] public int PrefixBlockTokens { get; init; }

    /// <summary>Times the job has lost its slot to a preemption so far: a preemption takes the job preempted least often.</summary>
    [Id(15)] public int Preemptions { get; init; }

    /// <summary>
    /// The fingerprint of the model files the job was tokenized with (<see cref="Jobs.JobSpec.ModelFingerprint"/>): it may
    /// run only on a node that reports the model with this fingerprint (or none, from an older release). Null: any node.
    /// </summary>
    [Id(16)] public string? ModelFingerprint { get; init; }

    /// <summary>Expected cost in tokens: prompt plus most output.</summary>
    public long Cost => (long)PromptTokens + MaxTokens;
}

/// <summary>Why the scheduler refused a job that its tenant had admitted.</summary>
public enum SchedulingRejection
{
    /// <summary>The tenant has its maximum of jobs queued for the model: it is over its share (HTTP 429).</summary>
    TenantQueueFull,

    /// <summary>The model's queue is full: the cluster is saturated (HTTP 503).</summary>
    ModelQueueFull,

    /// <summary>No known node serves the model with the labels the tenant requires (HTTP 503).</summary>
    NoEligibleNode,
}

/// <summary>The dispatcher's answer to <see cref="IModelDispatcherGrain.EnqueueAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("tg.EnqueueResult")]
public sealed record EnqueueResult
{
    /// <summary>True when the job is queued (or already dispatched).</summary>
    [Id(0)] public bool Queued { get; init; }

    /// <summary>Why not, when refused.</summary>
    [Id(1)] public SchedulingRejection? Rejection { get; init; }

    /// <summary>The reason for a person, when refused.</summary>
    [Id(2)] public string? Message { get; init; }

    /// <summary>When to try again, from the measured drain rate; null when retrying cannot help.</summary>
    [Id(3)] public TimeSpan? RetryAfter { get; init; }

    /// <summary>Place in the queue (1 = next); 0 when dispatched at once.</summary>
    [Id(4)] public int Position { get; init; }

    /// <summary>Expected wait for a node from the measured drain rate; null before any rate is known.</summary>
    [Id(5)] public TimeSpan? ExpectedWait { get; init; }
}

/// <summary>A queued job's place (1 = next) and expected wait (null before any drain rate is known).</summary>
[GenerateSerializer, Immutable, Alias("tg.QueuePosition")]
public sealed record QueuePosition([property: Id(0)] int Position, [property: Id(1)] TimeSpan? ExpectedWait);

/// <summary>A node as one model's dispatcher sees it: its slots for the model and what the dispatcher placed there.</summary>
[GenerateSerializer, Immutable, Alias("tg.DispatcherNode")]
public sealed record DispatcherNode(
    [property: Id(0)] string NodeId,
    [property: Id(1)] int Slots,
    [property: Id(2)] int Running,
    [property: Id(3)] long OutstandingTokens,
    [property: Id(4)] bool Loaded,
    [property: Id(5)] bool Draining,
    [property: Id(6)] long Dispatched);

/// <summary>One tenant in one model's queue.</summary>
[GenerateSerializer, Immutable, Alias("tg.DispatcherTenant")]
public sealed record DispatcherTenant(
    [property: Id(0)] string TenantId,
    [property: Id(1)] int Weight,
    [property: Id(2)] int Queued,
    [property: Id(3)] int Running,
    [property: Id(4)] long TokensGenerated,
    [property: Id(5)] long Dispatched);

/// <summary>One model's queue, slots and service.</summary>
[GenerateSerializer, Immutable, Alias("tg.DispatcherSnapshot")]
public sealed record DispatcherSnapshot(
    [property: Id(0)] string Model,
    [property: Id(1)] int Queued,
    [property: Id(2)] int Running,
    [property: Id(3)] double DispatchesPerSecond,
    [property: Id(4)] long Preemptions,
    [property: Id(5)] IReadOnlyList<DispatcherNode> Nodes,
    [property: Id(6)] IReadOnlyList<DispatcherTenant> Tenants,
    [property: Id(7)] double SlotsFreedPerSecond = 0);
