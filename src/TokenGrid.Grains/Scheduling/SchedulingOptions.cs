
namespace TokenGrid.Grains.Scheduling;

/// <summary>How the per-model dispatchers queue, order and place jobs (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Scheduling": { "MaxQueuedPerModel": 4096, "MaxQueuedPerTenant": 256, "AgingInterval": "00:00:30" } }
/// </code>
/// </example>
public sealed class SchedulingOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Scheduling";

    /// <summary>Jobs that may wait in one model's queue; past this, new jobs get 503 (cluster full). Default: 1024.</summary>
    public int MaxQueuedPerModel { get; set; } = 1024;

    /// <summary>
    /// Jobs one tenant may have waiting in one model's queue; past this, its new jobs get 429 (over its share).
    /// Default: 128.
    /// </summary>
    public int MaxQueuedPerTenant { get; set; } = 128;

    /// <summary>
    /// A waiting job's effective priority class rises one level per interval waited (Low → Standard after one,
    /// → High after two), so batch work is never starved. Aged jobs never preempt. Default: 30 seconds.
    /// </summary>
    public TimeSpan AgingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a dispatcher reloads the nodes' reports from the registry. Default: 1 second.</summary>
    public TimeSpan RefreshPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A job's completion also reloads the reports, but not more often than this, so the registry sees at most a few
    /// calls per second per model. Default: 250 milliseconds.
    /// </summary>
    public TimeSpan MinRefreshInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a node that stopped reporting, while its silo is still in the cluster, keeps counting as one that serves
    /// its model. Jobs are not placed on it, but new requests it could run wait in the queue instead of being refused
    /// with 503 <c>no_eligible_node</c>: a silo held up for a few seconds (a collection, a burst of new database
    /// connections, a busy host) delays its node's reports past their lifetime without the node being gone. A node
    /// whose silo leaves the cluster is gone at once. 0 refuses as soon as the reports lapse. Default: 30 seconds.
    /// </summary>
    public TimeSpan SilentNodeGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a model may go without any node serving it (none advertises it, live or silent within
    /// <see cref="SilentNodeGrace"/>) before its dispatcher gives up on its waiting jobs: each queued job, and each job that
    /// asks to go on (after a preemption or its node's loss), then ends <c>failed</c> with "No node serves model …",
    /// charged only for what it produced, instead of waiting out its timeout. Within the grace they wait, so a restart of
    /// the only silo serving the model costs them nothing. A new request for such a model is refused at once with 503
    /// <c>no_eligible_node</c> and a <c>Retry-After</c>, within the grace or not. 0 gives up as soon as no node serves the
    /// model. Default: 2 minutes.
    /// </summary>
    public TimeSpan UnservedModelGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The window over which the drain rate (jobs dispatched per second) is measured. Default: 30 seconds.</summary>
    public TimeSpan DrainRateWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Shortest <c>Retry-After</c> given for a full queue. Default: 1 second.</summary>
    public TimeSpan MinRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest <c>Retry-After</c>; also the answer before any drain rate is measured. Default: 59 seconds, because the
    /// official openai npm SDK honours a wait only when it is under 60 s and otherwise retries within a second or so.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(59);

    /// <summary>
    /// Whether the dispatcher may preempt running jobs at all (they resume by recomputation, charged once). When true, a
    /// waiting High job preempts a running Low one when no allowed slot is free. Default: true.
    /// </summary>
    public bool Preemption { get; set; } = true;

    /// <summary>
    /// With <see cref="Preemption"/>: a job whose tenant runs fewer jobs than its weighted share of the slots may also
    /// preempt the youngest job of a tenant running more than its share (never of a higher class), so a light tenant's
    /// time to first token does not wait for another tenant's long jobs to end. Default: true.
    /// </summary>
    public bool FairSharePreemption { get; set; } = true;

    /// <summary>
    /// Sequences one node runs at once for one model; 0 takes the engine's batch size from the node's report.
    /// Default: 0.
    /// </summary>
    public int SlotsPerNode { get; set; }

    /// <summary>
    /// Prefix-aware placement: how much the prefill a node's prefix cache would save a job counts against that node's
    /// expected wait. A node scores <c>weight × cached prompt tokens × seconds per prompt token − expected wait</c>, and
    /// the highest score wins among the allowed nodes with a free slot (see docs/scheduling.md). 1 weighs a second saved
    /// as a second waited; 0 turns prefix-aware placement off (load alone; jobs then send no block summaries).
    /// Default: 1.
    /// </summary>
    public double PrefixAffinityWeight { get; set; } = 1;

    /// <summary>
    /// Seconds one cached prompt token saves, for <see cref="PrefixAffinityWeight"/>. 0 measures it: the node's seconds
    /// per token (1 / its measured tokens per second, or the mean rate of the others before it has one), the same rate
    /// its expected wait is counted at, so a cached token weighs as one token less of outstanding work. Set it where
    /// prefill is known to run much faster per token than decode. Default: 0 (measured).
    /// </summary>
    public double PrefillSecondsPerToken { get; set; }

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        MaxQueuedPerModel < 1 ? "max queued per model must be at least 1."
        : MaxQueuedPerTenant < 1 ? "max queued per tenant must be at least 1."
        : AgingInterval <= TimeSpan.Zero ? "the aging interval must be positive."
        : RefreshPeriod <= TimeSpan.Zero ? "the refresh period must be positive."
        : MinRefreshInterval < TimeSpan.Zero ? "the min refresh interval must not be negative."
        : DrainRateWindow <= TimeSpan.Zero ? "the drain rate window must be positive."
        : SilentNodeGrace < TimeSpan.Zero ? "the silent node grace must not be negative (0: none)."
        : UnservedModelGrace < TimeSpan.Zero ? "the unserved model grace must not be negative (0: none)."
        : MinRetryAfter <= TimeSpan.Zero || MaxRetryAfter < MinRetryAfter ? "retry-after bounds must be positive and ordered."
        : SlotsPerNode < 0 ? "slots per node must not be negative."
        : !(PrefixAffinityWeight >= 0 && PrefixAffinityWeight <= 1000) ? "the prefix affinity weight must be between 0 (off) and 1000."
        : !(PrefillSecondsPerToken >= 0 && PrefillSecondsPerToken <= 1) ? "prefill seconds per token must be between 0 (measured) and 1."
        : null;
}
