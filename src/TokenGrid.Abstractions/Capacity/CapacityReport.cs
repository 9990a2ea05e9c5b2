namespace TokenGrid.Abstractions.Capacity;

/// <summary>
/// The cluster-wide capacity picture served at <c>GET /v1/capacity</c>: supply, demand and headroom per model and in
/// total, every node, latency percentiles, the top tenants by usage and the tenants on track to run out of quota early.
/// Field by field math: docs/capacity.md.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.CapacityReport")]
public sealed record CapacityReport
{
    /// <summary>When the picture was taken.</summary>
    [Id(0)] public DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The tenant size (tokens per minute) that the headroom in tenants is counted in.</summary>
    [Id(1)] public long TenantTokensPerMinute { get; init; }

    /// <summary>The whole cluster.</summary>
    [Id(2)] public required CapacityTotals Cluster { get; init; }

    /// <summary>Per model, by name.</summary>
    [Id(3)] public required IReadOnlyList<ModelCapacity> Models { get; init; }

    /// <summary>Per live node, by id.</summary>
    [Id(4)] public required IReadOnlyList<NodeCapacity> Nodes { get; init; }

    /// <summary>Latency percentiles over the last minute, all models together.</summary>
    [Id(5)] public required IReadOnlyList<LatencySummary> Latency { get; init; }

    /// <summary>Tenants by tokens charged this period, most first.</summary>
    [Id(6)] public required IReadOnlyList<TenantUsageRank> TopTenants { get; init; }

    /// <summary>Tenants whose quota runs out before their period ends at the current burn rate, soonest first.</summary>
    [Id(7)] public required IReadOnlyList<TenantBurnDown> BurnDown { get; init; }

    /// <summary>When the tenant figures were read (they are refreshed at most once per refresh period).</summary>
    [Id(8)] public DateTimeOffset? TenantsReadAt { get; init; }

    /// <summary>Tenants known to the directory.</summary>
    [Id(9)] public int Tenants { get; init; }
}

/// <summary>Supply, demand and headroom, summed over models or the cluster.</summary>
[GenerateSerializer, Immutable, Alias("tg.CapacityTotals")]
public sealed record CapacityTotals
{
    /// <summary>Live nodes (draining ones included).</summary>
    [Id(0)] public int Nodes { get; init; }

    /// <summary>Live nodes taking new work.</summary>
    [Id(1)] public int AcceptingNodes { get; init; }

    /// <summary>Tokens generated per second now (10-second window).</summary>
    [Id(2)] public double TokensPerSecond { get; init; }

    /// <summary>
    /// Measured capacity: the sum of the accepting nodes' peak tokens per second; a lower bound while
    /// <see cref="CapacityIsLowerBound"/>.
    /// </summary>
    [Id(3)] public double CapacityTokensPerSecond { get; init; }

    /// <summary>Tokens per second over capacity (0..1); null before any capacity is measured.</summary>
    [Id(4)] public double? Utilization { get; init; }

    /// <summary>Requested tokens per second: the sum of the models' <see cref="ModelDemand.RequestedTokensPerSecond"/>.</summary>
    [Id(5)] public double DemandTokensPerSecond { get; init; }

    /// <summary>
    /// More tokens per second the cluster could take now: capacity minus demand, at least 0, and 0 while more jobs are
    /// queued than slots are free (a backlog). While <see cref="CapacityIsLowerBound"/> it is a lower bound, and null
    /// (unknown) where it would be 0 without a backlog.
    /// </summary>
    [Id(6)] public double? HeadroomTokensPerSecond { get; init; }

    /// <summary>More tenants of the report's size that fit in the headroom; a lower bound or null as the headroom is.</summary>
    [Id(7)] public long? HeadroomTenants { get; init; }

    /// <summary>Jobs waiting for a node.</summary>
    [Id(8)] public int QueuedJobs { get; init; }

    /// <summary>Jobs running on nodes.</summary>
    [Id(9)] public int RunningJobs { get; init; }

    /// <summary>Tokens generated since the nodes started.</summary>
    [Id(10)] public long TokensGenerated { get; init; }

    /// <summary>Some accepting node's capacity is not measured at a batch at least half full (or not at all).</summary>
    [Id(11)] public bool CapacityIsLowerBound { get; init; }

    /// <summary>Sequence slots of the accepting nodes: the sum of their max batch.</summary>
    [Id(12)] public int Slots { get; init; }

    /// <summary>Of <see cref="Slots"/>, those holding a sequence now (the accepting nodes' active sequences).</summary>
    [Id(13)] public int BusySlots { get; init; }

    /// <summary>Busy slots over slots (0..1); null without slots.</summary>
    [Id(14)] public double? SlotUtilization { get; init; }

    /// <summary>Slots free and not claimed by a queued job: slots − busy slots − queued jobs, at least 0.</summary>
    [Id(15)] public int HeadroomSlots { get; init; }
}

/// <summary>One model: what is asked of it, what its nodes supply, and what is left.</summary>
[GenerateSerializer, Immutable, Alias("tg.ModelCapacity")]
public sealed record ModelCapacity
{
    /// <summary>Model name.</summary>
    [Id(0)] public required string Model { get; init; }

    /// <summary>What is asked.</summary>
    [Id(1)] public required ModelDemand Demand { get; init; }

    /// <summary>What the nodes serving it supply.</summary>
    [Id(2)] public required ModelSupply Supply { get; init; }

    /// <summary>
    /// More tokens per second the model could take: its supply's capacity minus its demand, at least 0, and 0 while more
    /// of its jobs are queued than its slots are free (a backlog). While <see cref="ModelSupply.CapacityIsLowerBound"/>
    /// it is a lower bound, and null (unknown) where it would be 0 without a backlog.
    /// </summary>
    [Id(3)] public double? HeadroomTokensPerSecond { get; init; }

    /// <summary>More tenants of the report's size that fit in <see cref="HeadroomTokensPerSecond"/>; a lower bound or null as it is.</summary>
    [Id(4)] public long? HeadroomTenants { get; init; }

    /// <summary>Latency percentiles of the model over the last minute.</summary>
    [Id(5)] public required IReadOnlyList<LatencySummary> Latency { get; init; }

    /// <summary>The model's free slots not claimed by its queued jobs: slots − busy slots − queued jobs, at least 0.</summary>
    [Id(6)] public int HeadroomSlots { get; init; }
}

/// <summary>Demand on one model, from its dispatcher.</summary>
[GenerateSerializer, Immutable, Alias("tg.ModelDemand")]
public sealed record ModelDemand
{
    /// <summary>
    /// Requested tokens per second: generated now plus the growth of the queued tokens over the demand window (10 s), at
    /// least 0; while more jobs are queued than slots are free (a backlog), at least generated now plus the queued tokens
    /// over the demand window.
    /// </summary>
    [Id(0)] public double RequestedTokensPerSecond { get; init; }

    /// <summary>Jobs waiting for a node.</summary>
    [Id(1)] public int QueuedJobs { get; init; }

    /// <summary>Tokens the waiting jobs may generate (their max tokens).</summary>
    [Id(2)] public long QueuedTokens { get; init; }

    /// <summary>Jobs running.</summary>
    [Id(3)] public int RunningJobs { get; init; }

    /// <summary>How long the longest-waiting job has waited, in seconds; 0 with an empty queue.</summary>
    [Id(4)] public double OldestWaitSeconds { get; init; }

    /// <summary>Mean wait so far of the waiting jobs, in seconds; 0 with an empty queue.</summary>
    [Id(5)] public double MeanWaitSeconds { get; init; }

    /// <summary>Expected wait of a job queued now (queued jobs over the drain rate), in seconds; null before a rate is known.</summary>
    [Id(6)] public double? ExpectedWaitSeconds { get; init; }

    /// <summary>Jobs dispatched per second (the drain rate).</summary>
    [Id(7)] public double DispatchesPerSecond { get; init; }

    /// <summary>Tokens generated by the model's finished runs since its dispatcher started.</summary>
    [Id(8)] public long TokensGenerated { get; init; }

    /// <summary>
    /// How long no live node has served the model, in seconds (its only nodes' silos died or left): its waiting jobs
    /// end failed when this reaches the unserved-model grace. Null while a node serves it.
    /// </summary>
    [Id(9)] public double? UnservedSeconds { get; init; }
}

/// <summary>Supply of one model: the live nodes that have it loaded or can load it.</summary>
[GenerateSerializer, Immutable, Alias("tg.ModelSupply")]
public sealed record ModelSupply
{
    /// <summary>Live nodes taking new work that serve the model.</summary>
    [Id(0)] public int Nodes { get; init; }

    /// <summary>Tokens per second generated for this model now (a shared node's rate split by the model's running jobs).</summary>
    [Id(1)] public double TokensPerSecond { get; init; }

    /// <summary>Sum of the peak tokens per second of the nodes serving the model (a shared node counts for each of its models).</summary>
    [Id(2)] public double CapacityTokensPerSecond { get; init; }

    /// <summary>Tokens per second over capacity (0..1); null before any capacity is measured.</summary>
    [Id(3)] public double? Utilization { get; init; }

    /// <summary>Sequence slots the dispatcher has on the nodes for this model.</summary>
    [Id(4)] public int Slots { get; init; }

    /// <summary>Of <see cref="Slots"/>, those running a job.</summary>
    [Id(5)] public int BusySlots { get; init; }

    /// <summary>Busy slots over slots (0..1); null without slots.</summary>
    [Id(6)] public double? SlotUtilization { get; init; }

    /// <summary>Some node serving the model has a capacity not measured at a batch at least half full (or not at all).</summary>
    [Id(7)] public bool CapacityIsLowerBound { get; init; }
}

/// <summary>One live node's supply.</summary>
[GenerateSerializer, Immutable, Alias("tg.NodeCapacity")]
public sealed record NodeCapacity
{
    /// <summary>Node id <c>{silo}/{device}</c>.</summary>
    [Id(0)] public required string NodeId { get; init; }

    /// <summary>The silo hosting the device.</summary>
    [Id(1)] public required string Silo { get; init; }

    /// <summary>Device name.</summary>
    [Id(2)] public required string Device { get; init; }

    /// <summary>Execution provider.</summary>
    [Id(3)] public required string Provider { get; init; }

    /// <summary>Models loaded now.</summary>
    [Id(4)] public required IReadOnlyList<string> Models { get; init; }

    /// <summary>Taking no new work.</summary>
    [Id(5)] public bool Draining { get; init; }

    /// <summary>Tokens per second over the last 10 seconds.</summary>
    [Id(6)] public double TokensPerSecond { get; init; }

    /// <summary>Tokens per second over the last minute.</summary>
    [Id(7)] public double TokensPerSecondMinute { get; init; }

    /// <summary>
    /// The highest 10-second rate seen on the node: its measured capacity; 0 until it has generated, and a lower bound
    /// while <see cref="CapacityIsLowerBound"/>.
    /// </summary>
    [Id(8)] public double CapacityTokensPerSecond { get; init; }

    /// <summary>Tokens per second over capacity (0..1); null before any capacity is measured.</summary>
    [Id(9)] public double? Utilization { get; init; }

    /// <summary>Sequences decoding or prefilling.</summary>
    [Id(10)] public int ActiveSequences { get; init; }

    /// <summary>Sequences waiting on the node.</summary>
    [Id(11)] public int QueuedSequences { get; init; }

    /// <summary>Batch capacity of its loaded engines.</summary>
    [Id(12)] public int MaxBatchSize { get; init; }

    /// <summary>Tokens generated since the node started.</summary>
    [Id(13)] public long TokensGenerated { get; init; }

    /// <summary>Bytes the loaded models take (estimated).</summary>
    [Id(14)] public long MemoryUsedBytes { get; init; }

    /// <summary>Bytes the node may spend on models; 0: unlimited.</summary>
    [Id(15)] public long MemoryBudgetBytes { get; init; }

    /// <summary>The mean batch (sequences per decode step) of the 10 seconds that set <see cref="CapacityTokensPerSecond"/>.</summary>
    [Id(16)] public double PeakBatchSize { get; init; }

    /// <summary>
    /// The capacity is a lower bound: nothing generated yet, or the peak was set with a batch less than half of
    /// <see cref="MaxBatchSize"/> (continuous batching grows throughput with the batch).
    /// </summary>
    [Id(17)] public bool CapacityIsLowerBound { get; init; }

    /// <summary>Slot occupancy: active sequences over max batch (0..1); null with no batch capacity.</summary>
    [Id(18)] public double? SlotUtilization { get; init; }
}

/// <summary>Percentiles of one latency measurement over the last minute.</summary>
[GenerateSerializer, Immutable, Alias("tg.LatencySummary")]
public sealed record LatencySummary
{
    /// <summary>The measurement (<c>time_to_first_token</c>, and whatever other latency histograms the TokenGrid meter has).</summary>
    [Id(0)] public required string Metric { get; init; }

    /// <summary>Measurements in the window.</summary>
    [Id(1)] public long Count { get; init; }

    /// <summary>Mean, in seconds; null without measurements.</summary>
    [Id(2)] public double? MeanSeconds { get; init; }

    /// <summary>Median, in seconds (bucket-interpolated); null without measurements.</summary>
    [Id(3)] public double? P50Seconds { get; init; }

    /// <summary>90th percentile, in seconds; null without measurements.</summary>
    [Id(4)] public double? P90Seconds { get; init; }

    /// <summary>99th percentile, in seconds; null without measurements.</summary>
    [Id(5)] public double? P99Seconds { get; init; }
}

/// <summary>A tenant's usage this period, for the top-tenants list.</summary>
[GenerateSerializer, Immutable, Alias("tg.TenantUsageRank")]
public sealed record TenantUsageRank
{
    /// <summary>Tenant id.</summary>
    [Id(0)] public required string TenantId { get; init; }

    /// <summary>Tokens charged this period (prompt and completion).</summary>
    [Id(1)] public long Charged { get; init; }

    /// <summary>Tokens reserved by running jobs.</summary>
    [Id(2)] public long Reserved { get; init; }

    /// <summary>The period's quota.</summary>
    [Id(3)] public long Quota { get; init; }

    /// <summary>Quota left: quota − charged − reserved.</summary>
    [Id(4)] public long Remaining { get; init; }

    /// <summary>Share of all tenants' charged tokens this period (0..1).</summary>
    [Id(5)] public double Share { get; init; }

    /// <summary>Charged tokens per second recently (between the last two reads, up to 5 minutes apart); null after one read.</summary>
    [Id(6)] public double? RecentTokensPerSecond { get; init; }

    /// <summary>Jobs admitted and not yet settled.</summary>
    [Id(7)] public int OpenJobs { get; init; }
}

/// <summary>A tenant on track to exhaust its period quota before the period ends.</summary>
[GenerateSerializer, Immutable, Alias("tg.TenantBurnDown")]
public sealed record TenantBurnDown
{
    /// <summary>Tenant id.</summary>
    [Id(0)] public required string TenantId { get; init; }

    /// <summary>The period's quota.</summary>
    [Id(1)] public long Quota { get; init; }

    /// <summary>Tokens charged this period.</summary>
    [Id(2)] public long Charged { get; init; }

    /// <summary>Tokens reserved by running jobs.</summary>
    [Id(3)] public long Reserved { get; init; }

    /// <summary>Quota left: quota − charged − reserved.</summary>
    [Id(4)] public long Remaining { get; init; }

    /// <summary>Start of the period.</summary>
    [Id(5)] public DateTimeOffset PeriodStart { get; init; }

    /// <summary>End of the period (the quota resets).</summary>
    [Id(6)] public DateTimeOffset PeriodEnd { get; init; }

    /// <summary>The burn rate used: the higher of the period's average and the recent rate, in tokens per second.</summary>
    [Id(7)] public double BurnTokensPerSecond { get; init; }

    /// <summary>When the quota runs out at that rate.</summary>
    [Id(8)] public DateTimeOffset ExhaustsAt { get; init; }

    /// <summary>How long before the period's end that is, in seconds.</summary>
    [Id(9)] public double EarlyBySeconds { get; init; }
}
