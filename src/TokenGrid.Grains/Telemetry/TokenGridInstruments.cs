using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// Every TokenGrid metric, built from one <see cref="IMeterFactory"/> under the meter <see cref="MeterName"/>; the
/// Prometheus names (<c>tokengrid_*</c>) mirror vLLM's and the OpenTelemetry GenAI conventions (docs/metrics.md lists
/// them). Callers record through intent methods, never through the instruments. Labels are bounded: model, node,
/// outcome and reason come from configuration or fixed codes; tenants are labels only on the budget gauges, and only
/// for the tenants <see cref="TenantSeriesOptions"/> selects.
/// </summary>
public sealed class TokenGridInstruments
{
    /// <summary>The meter name to export.</summary>
    public const string MeterName = "TokenGrid";

    /// <summary>
    /// The request latency histograms (time to first token, inter-token, end to end, queue time), which the capacity
    /// view summarises too.
    /// </summary>
    public static IReadOnlyList<string> RequestLatencies { get; } =
        ["tokengrid.time_to_first_token", "tokengrid.inter_token_latency", "tokengrid.e2e_request_latency", "tokengrid.request_queue_time"];

    // Buckets in seconds: interactive first tokens in tens of milliseconds up to long queued batch jobs.
    private static readonly double[] s_firstTokenBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
    private static readonly double[] s_interTokenBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5];
    private static readonly double[] s_requestBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60, 120, 240, 480, 960];

    // A tenant save is one database round trip: sub-millisecond on an idle server, seconds only when it is in trouble.
    private static readonly double[] s_saveBuckets = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
    private static readonly long[] s_saveChangeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _generationTokens;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _admissions;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _preemptions;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _interTokenLatency;
    private readonly Histogram<double> _requestLatency;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _tenantSaveDuration;
    private readonly Histogram<long> _tenantSaveChanges;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NodeLoad> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueueLoad> _queues = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly Dictionary<string, string> _modelLoadFailures = new(StringComparer.Ordinal);
    private readonly TenantSeries _tenants;
    private readonly Counter<long> _spendThresholds;
    private readonly JobContentSeries _jobContent;
    private long _clockOffsetTicks = long.MinValue; // none measured yet

    /// <summary>Creates the instruments; <paramref name="tenantSeries"/> chooses the tenants that get budget series.</summary>
    public TokenGridInstruments(IMeterFactory meterFactory, IOptions<TenantSeriesOptions> tenantSeries, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(tenantSeries);
        _tenants = new TenantSeries(tenantSeries.Value, timeProvider);
        _timeProvider = timeProvider;
        var meter = meterFactory.Create(MeterName);
        _jobContent = new JobContentSeries(meter, timeProvider);
        _promptTokens = meter.CreateCounter<long>("tokengrid.prompt_tokens", "{token}", "Prompt tokens prefilled, by model and node.");
        _generationTokens = meter.CreateCounter<long>("tokengrid.generation_tokens", "{token}", "Tokens generated, by model and node.");
        _requests = meter.CreateCounter<long>("tokengrid.requests", "{request}", "Requests ended, by model, outcome and reason.");
        _admissions = meter.CreateCounter<long>("tokengrid.admissions", "{request}", "Requests admitted by tenant budgets, by model.");
        _rejections = meter.CreateCounter<long>("tokengrid.rejections", "{request}", "Requests refused by a tenant budget or the scheduler, by model and reason.");
        _preemptions = meter.CreateCounter<long>("tokengrid.preemptions", "{request}", "Running requests preempted, by model and reason.");
        _timeToFirstToken = Histogram(meter, "tokengrid.time_to_first_token", "From submission to the first token, by model.", s_firstTokenBuckets);
        _interTokenLatency = Histogram(meter, "tokengrid.inter_token_latency", "Mean time between output tokens after the first, per request, by model.", s_interTokenBuckets);
        _requestLatency = Histogram(meter, "tokengrid.e2e_request_latency", "From submission to the end, by model and outcome.", s_requestBuckets);
        _queueTime = Histogram(meter, "tokengrid.request_queue_time", "Time waiting in the model's queue before placement on a node, by model.", s_requestBuckets);
        _tenantSaveDuration = Histogram(meter, "tokengrid.tenant.save_duration",
            "One tenant save (state, ledger lines and job ids in one write), by outcome: saved, refused or failed.", s_saveBuckets);
        _tenantSaveChanges = meter.CreateHistogram("tokengrid.tenant.save_changes", "{change}",
            "Changes (admissions, settlements, tenant and key updates) group-committed by one tenant save.", tags: null,
            new InstrumentAdvice<long> { HistogramBucketBoundaries = s_saveChangeBuckets });
        meter.CreateObservableGauge("tokengrid.requests_running", () => ObserveModels(m => m.Running), "{request}", "Requests decoding or prefilling, by model and node.");
        meter.CreateObservableGauge("tokengrid.requests_waiting", ObserveWaiting, "{request}",
            "Requests waiting: in the model's queue (no node label) or in a node's engine queue (by node), by model.");
        meter.CreateObservableGauge("tokengrid.request_queue_oldest_wait", ObserveOldestWait, "s",
            "How long the longest-waiting request in the model's queue has waited so far (0: none waits), by model; unlike the queue time histogram it grows while nothing is placed.");
        meter.CreateObservableGauge("tokengrid.node.tokens_per_second", () => ObserveNodes(n => n.TokensPerSecond), "{token}/s", "Tokens generated per second over the last 10 seconds, by node.");
        meter.CreateObservableGauge("tokengrid.node.batch_size", () => ObserveModels(m => m.BatchSize), "{request}", "Sequences in the engine's decode batch (its latest decode step; 0 when idle), by model and node.");
        meter.CreateObservableGauge("tokengrid.node.decode_lanes", () => ObserveModels(m => m.DecodeLanes), "{run}",
            "Model runs of the latest decode step (0 when idle): lanes of rows of similar length, each padded to its own longest row, by model and node.");
        meter.CreateObservableGauge("tokengrid.node.max_batch_size", () => ObserveModels(m => m.MaxBatchSize), "{request}", "Batch capacity of the engine, by model and node.");
        meter.CreateObservableGauge("tokengrid.node.kv_cache_used", () => ObserveModels(m => m.KvCacheUsedBytes), "By", "Key/value cache held by running sequences (at full context), by model and node.");
        meter.CreateObservableGauge("tokengrid.node.kv_cache_usage_ratio", () => ObserveModels(m => m.KvCacheUsage), "1", "Fraction of the engine's key/value cache slots in use, by model and node.");
        meter.CreateObservableGauge("tokengrid.node.kv_cache_allocated", () => ObserveModels(m => m.KvCacheAllocatedBytes), "By",
            "Bytes the running batch's key/value cache buffers hold (both copies, as allocated; kept between batches), by model and node.");
        meter.CreateObservableGauge("tokengrid.node.kv_cache_limit", () => ObserveModels(m => m.KvCacheLimitBytes), "By",
            "Bytes the engine keeps its running batch's key/value cache to, queueing sequences that would pass it, by model and node.");
        PrefixCacheSeries(meter);
        meter.CreateObservableGauge("tokengrid.node.memory_used", () => ObserveNodes(n => n.MemoryUsedBytes), "By", "Estimated bytes of the loaded models (weights, key/value cache and prefix cache budget), by node.");
        meter.CreateObservableGauge("tokengrid.node.memory_budget", () => ObserveNodes(n => n.MemoryBudgetBytes), "By", "Bytes the node may spend on models (0: unlimited), by node.");
        meter.CreateObservableGauge("tokengrid.model_load_failures", ObserveModelLoadFailures, "{model}",
            "1 for each configured model this silo could not read (it is not served here), by model and reason code.");
        meter.CreateObservableGauge("tokengrid.node.model_load_failed", ObserveNodeLoadFailures, "{model}",
            "1 for each model a node serves whose latest load failed (the node does not advertise it until a load succeeds), by model and node.");
        meter.CreateObservableGauge("tokengrid.clock_offset", ObserveClockOffset, "s",
            "This silo's clock minus PostgreSQL's at the last clock check (postgres profile; none before the first).");
        meter.CreateObservableGauge("tokengrid.tenant.budget_remaining_tokens", () => ObserveTenants(t => t.Remaining), "{token}", "Tokens the tenant may still reserve this period (quota − charged − reserved).");
        meter.CreateObservableGauge("tokengrid.tenant.budget_reserved_tokens", () => ObserveTenants(t => t.Reserved), "{token}", "Tokens held by the tenant's running requests.");
        meter.CreateObservableGauge("tokengrid.tenant.budget_charged_tokens", () => ObserveTenants(t => t.Charged), "{token}", "Tokens charged to the tenant this period.");
        meter.CreateObservableGauge("tokengrid.tenant.budget_quota_tokens", () => ObserveTenants(t => t.Quota), "{token}", "Tokens the tenant's period quota allows.");
        meter.CreateObservableGauge("tokengrid.tenant.spend_charged_micros", () => ObserveTenants(t => t.SpendCharged), "{micro}", "Micros of the rate card's currency charged to the tenant this period (its share).");
        meter.CreateObservableGauge("tokengrid.tenant.spend_cap_micros", () => ObserveTenants(t => t.SpendCap), "{micro}", "The tenant's spend cap for the period in micros (0: none).");
        meter.CreateObservableGauge("tokengrid.tenant.spend_cap_reached", () => ObserveTenants(t => t.SpendCapReached ? 1L : 0L), unit: null,
            "1 when the tenant's spend cap is reached this period (its charges reached it, or it refused a request with nothing else held), else 0.");
        _spendThresholds = meter.CreateCounter<long>("tokengrid.spend_threshold_events", "{event}", "Spend threshold events raised (a tenant's charged spend reached 50, 80 or 100 percent of its cap), by percent.");
    }

    /// <summary>A node prefilled a prompt.</summary>
    public void OnPromptProcessed(string model, string node, int tokens) =>
        _promptTokens.Add(tokens, new("model", model), new("node", node));

    /// <summary>A node produced tokens.</summary>
    public void OnTokensGenerated(string model, string node, int tokens) =>
        _generationTokens.Add(tokens, new("model", model), new("node", node));

    /// <summary>A tenant admitted a request.</summary>
    public void OnAdmitted(string model) => _admissions.Add(1, new KeyValuePair<string, object?>("model", model));

    /// <summary>A tenant budget or the scheduler refused a request; <paramref name="reason"/> is its stable code.</summary>
    public void OnRejected(string model, string reason) => _rejections.Add(1, new("model", model), new("reason", reason));

    /// <summary>The scheduler preempted a running request (<c>priority</c> or <c>fair_share</c>).</summary>
    public void OnPreempted(string model, string reason) => _preemptions.Add(1, new("model", model), new("reason", reason));

    /// <summary>The scheduler placed a request on a node after <paramref name="waited"/> in the queue.</summary>
    public void OnDispatched(string model, TimeSpan waited) =>
        _queueTime.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("model", model));

    /// <summary>
    /// A model's queue holds <paramref name="waiting"/> requests now, the longest-waiting one enqueued at
    /// <paramref name="oldestEnqueuedAt"/> (null: none waits).
    /// </summary>
    public void OnQueueDepth(string model, int waiting, DateTimeOffset? oldestEnqueuedAt)
    {
        lock (_lock)
        {
            _queues[model] = new QueueLoad(waiting, oldestEnqueuedAt);
        }
    }

    /// <summary>A request ended (see <see cref="RequestEnd"/>).</summary>
    public void OnRequestFinished(RequestEnd end)
    {
        var model = new KeyValuePair<string, object?>("model", end.Model);
        var outcome = new KeyValuePair<string, object?>("outcome", end.Outcome);
        _requests.Add(1, model, outcome, new("reason", end.Reason));
        if (end.Latency is { } latency)
        {
            _requestLatency.Record(latency.TotalSeconds, model, outcome);
        }

        if (end.TimeToFirstToken is { } ttft)
        {
            _timeToFirstToken.Record(ttft.TotalSeconds, model);
        }

        if (end.InterTokenLatency is { } itl)
        {
            _interTokenLatency.Record(itl.TotalSeconds, model);
        }
    }

    /// <summary>
    /// The catalog could not read <paramref name="model"/>; <paramref name="code"/> is a <see cref="Catalog.ModelLoadFailure.Code"/>.
    /// </summary>
    public void OnModelLoadFailed(string model, string code)
    {
        lock (_lock)
        {
            _modelLoadFailures[model] = code;
        }
    }

    /// <summary>A node's load now, served on the next scrape.</summary>
    public void OnNodeLoad(NodeLoad load)
    {
        ArgumentNullException.ThrowIfNull(load);
        lock (_lock)
        {
            _nodes[load.Node] = load;
        }
    }

    /// <summary>The node stopped: its series end.</summary>
    public void OnNodeStopped(string node)
    {
        lock (_lock)
        {
            _nodes.Remove(node);
        }
    }

    /// <summary>
    /// A tenant save ended: how long the write took and how many changes it carried; <paramref name="outcome"/> is
    /// <c>saved</c>, <c>refused</c> (a job id reserving again) or <c>failed</c>. No tenant label: one series for all.
    /// </summary>
    public void OnTenantSave(TimeSpan duration, int changes, string outcome)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _tenantSaveDuration.Record(duration.TotalSeconds, tag);
        _tenantSaveChanges.Record(changes, tag);
    }

    /// <summary>A job's content was deleted from storage: <paramref name="bytes"/> of serialized state removed.</summary>
    public void OnJobContentDeleted(Abstractions.Jobs.JobContentDeletionReason reason, long bytes) => _jobContent.OnDeleted(reason, bytes);

    /// <summary>A batch of the retention sweep claimed <paramref name="jobs"/> jobs and deleted their content in <paramref name="duration"/>.</summary>
    public void OnJobContentSweepBatch(int jobs, TimeSpan duration) => _jobContent.OnBatch(jobs, duration);

    /// <summary>After a sweep: when the oldest job still holding content ended (null: none does).</summary>
    public void OnJobContentOldest(DateTimeOffset? finishedAt) => _jobContent.OnOldest(finishedAt);

    /// <summary>A tenant's budget changed; published when <see cref="TenantSeriesOptions"/> selects the tenant.</summary>
    public void OnTenantBudget(string tenant, long quota, long charged, long reserved, long spendCharged = 0, long spendCap = 0, bool spendCapReached = false) =>
        _tenants.Update(new TenantBudgetSample(tenant, quota, charged, reserved, SpendCharged: spendCharged, SpendCap: spendCap, SpendCapReached: spendCapReached));

    /// <summary>A tenant's charged spend reached <paramref name="percent"/> of its spend cap this period.</summary>
    public void OnSpendThreshold(int percent) =>
        _spendThresholds.Add(1, new KeyValuePair<string, object?>("percent", percent));

    /// <summary>Records the last measured offset of this silo's clock from the database's.</summary>
    public void OnClockOffset(TimeSpan offset) => Interlocked.Exchange(ref _clockOffsetTicks, offset.Ticks);

    private static Histogram<double> Histogram(Meter meter, string name, string description, double[] buckets) =>
        meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });

    private List<Measurement<double>> ObserveNodes(Func<NodeLoad, double> value)
    {
        lock (_lock)
        {
            return [.. _nodes.Values.Select(n => new Measurement<double>(value(n), new KeyValuePair<string, object?>("node", n.Node)))];
        }
    }

    private List<Measurement<double>> ObserveModels(Func<ModelLoad, double> value)
    {
        lock (_lock)
        {
            return [.. _nodes.Values.SelectMany(n => n.Models.Select(m => new Measurement<double>(value(m), new("model", m.Model), new("node", n.Node))))];
        }
    }

    /// <summary>
    /// The prefix cache of each loaded model's engine, by model and node, from the engine's own counters at the node's
    /// last report: lookups and hits (hit rate = hits / lookups), prompt tokens taken from the cache (prefill saved) and
    /// evictions as counters, which start over when the model is loaded again; blocks and bytes held as gauges.
    /// </summary>
    private IEnumerable<Measurement<double>> ObserveClockOffset() =>
        Interlocked.Read(ref _clockOffsetTicks) is var ticks && ticks != long.MinValue ? [new Measurement<double>(TimeSpan.FromTicks(ticks).TotalSeconds)] : [];

    private void PrefixCacheSeries(Meter meter)
    {
        meter.CreateObservableCounter("tokengrid.node.prefix_cache_lookups", () => ObservePrefixCache(p => p.Lookups), "{request}",
            "Sequences whose prompt was looked up in the engine's prefix cache, by model and node.");
        meter.CreateObservableCounter("tokengrid.node.prefix_cache_hits", () => ObservePrefixCache(p => p.Hits), "{request}",
            "Lookups that found at least one cached block of the prompt, by model and node.");
        meter.CreateObservableCounter("tokengrid.node.prefix_cache_cached_tokens", () => ObservePrefixCache(p => p.CachedTokens), "{token}",
            "Prompt tokens taken from the prefix cache instead of being prefilled (prefill saved), by model and node.");
        meter.CreateObservableCounter("tokengrid.node.prefix_cache_evictions", () => ObservePrefixCache(p => p.Evictions), "{block}",
            "Prefix cache blocks evicted to make room, by model and node.");
        meter.CreateObservableGauge("tokengrid.node.prefix_cache_blocks", () => ObservePrefixCache(p => p.Blocks), "{block}",
            "Blocks the prefix cache holds, by model and node.");
        meter.CreateObservableGauge("tokengrid.node.prefix_cache_used", () => ObservePrefixCache(p => p.Bytes), "By",
            "Bytes of keys and values the prefix cache holds, by model and node.");
    }

    private List<Measurement<long>> ObservePrefixCache(Func<Inference.Engine.PrefixCacheSnapshot, long> value)
    {
        lock (_lock)
        {
            return [.. _nodes.Values.SelectMany(n => n.Models.Where(m => m.PrefixCache is not null)
                .Select(m => new Measurement<long>(value(m.PrefixCache!), new("model", m.Model), new("node", n.Node))))];
        }
    }

    private List<Measurement<double>> ObserveWaiting()
    {
        var waiting = ObserveModels(m => m.Waiting);
        lock (_lock)
        {
            waiting.AddRange(_queues.Select(q => new Measurement<double>(q.Value.Waiting, new KeyValuePair<string, object?>("model", q.Key))));
        }

        return waiting;
    }

    private List<Measurement<double>> ObserveOldestWait()
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            return [.. _queues.Select(q => new Measurement<double>(
                q.Value.OldestEnqueuedAt is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0,
                new KeyValuePair<string, object?>("model", q.Key)))];
        }
    }

    /// <summary>A model's queue as its dispatcher last reported it.</summary>
    private readonly record struct QueueLoad(int Waiting, DateTimeOffset? OldestEnqueuedAt);

    private List<Measurement<long>> ObserveModelLoadFailures()
    {
        lock (_lock)
        {
            return [.. _modelLoadFailures.Select(f => new Measurement<long>(1, new("model", f.Key), new("reason", f.Value)))];
        }
    }

    private List<Measurement<long>> ObserveNodeLoadFailures()
    {
        lock (_lock)
        {
            return [.. _nodes.Values.SelectMany(n => (n.FailedModels ?? []).Select(m => new Measurement<long>(1, new("model", m), new("node", n.Node))))];
        }
    }

    private List<Measurement<long>> ObserveTenants(Func<TenantBudgetSample, long> value) =>
        [.. _tenants.Published().Select(t => new Measurement<long>(value(t), new KeyValuePair<string, object?>("tenant", t.Tenant)))];
}
