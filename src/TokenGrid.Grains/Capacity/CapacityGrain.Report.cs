using TokenGrid.Abstractions.Capacity;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Capacity;

/// <summary>The report: supply, demand and headroom per model and for the cluster, from the latest samples.</summary>
public sealed partial class CapacityGrain
{
    /// <inheritdoc/>
    public async Task<CapacityReport> GetReportAsync(CapacityQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (timeProvider.GetUtcNow() - _sampledAt >= Options.SamplePeriod)
        {
            await SampleAsync();
        }

        var now = timeProvider.GetUtcNow();
        await RefreshTenantsAsync(now);
        var tpm = query.TenantTokensPerMinute;
        var latency = LiveLatency(now);
        var models = ModelNames().Select(m => Model(m, tpm, latency)).ToList();
        var accepting = _nodes.Where(n => !n.Draining).ToList();
        var capacity = accepting.Sum(PeakOf);
        var lowerBound = accepting.Any(IsLowerBound);
        var rate = _nodes.Sum(n => n.TokensPerSecond10s);
        var demand = models.Sum(m => m.Demand.RequestedTokensPerSecond);
        var slots = accepting.Sum(n => n.MaxBatchSize);
        var busy = accepting.Sum(n => n.ActiveSequences);
        var queued = models.Sum(m => m.Demand.QueuedJobs);
        var (headroom, tenants) = Headroom(capacity, demand, lowerBound, HasBacklog(slots, busy, queued), tpm);
        return new CapacityReport
        {
            GeneratedAt = now,
            TenantTokensPerMinute = tpm,
            Cluster = new CapacityTotals
            {
                Nodes = _nodes.Count,
                AcceptingNodes = accepting.Count,
                TokensPerSecond = rate,
                CapacityTokensPerSecond = capacity,
                Utilization = capacity > 0 ? rate / capacity : null,
                DemandTokensPerSecond = demand,
                HeadroomTokensPerSecond = headroom,
                HeadroomTenants = tenants,
                QueuedJobs = queued,
                RunningJobs = models.Sum(m => m.Demand.RunningJobs),
                TokensGenerated = _nodes.Sum(n => n.TokensGenerated),
                CapacityIsLowerBound = lowerBound,
                Slots = slots,
                BusySlots = busy,
                SlotUtilization = slots > 0 ? (double)busy / slots : null,
                HeadroomSlots = Math.Max(0, slots - busy - queued),
            },
            Models = models,
            Nodes = [.. _nodes.Select(Node)],
            Latency = Summaries(latency),
            TopTenants = TopTenants(query.Top),
            BurnDown = BurnDown(now, Options.MaxTop),
            TenantsReadAt = _tenantsReadAt,
            Tenants = _usage.Count,
        };
    }

    /// <summary>
    /// Headroom in tokens per second and in tenants of <paramref name="tpm"/> tokens per minute: capacity minus demand,
    /// at least 0. Against a lower-bound capacity a positive figure is a lower bound and a 0 means nothing (the capacity
    /// is not known to be reached), so it is null: unknown, never "full". With a <paramref name="backlog"/> it is 0 even
    /// then: jobs waiting that the free slots cannot take are a measurement that no more load fits now.
    /// </summary>
    private static (double? TokensPerSecond, long? Tenants) Headroom(double capacity, double demand, bool lowerBound, bool backlog, long tpm)
    {
        if (backlog)
        {
            return (0, 0);
        }

        var headroom = Math.Max(0, capacity - demand);
        var tenants = (long)Math.Floor(headroom * 60 / tpm);
        return lowerBound ? (headroom > 0 ? headroom : null, tenants > 0 ? tenants : null) : (headroom, tenants);
    }

    /// <summary>
    /// Whether jobs wait that the free slots cannot take: more queued than slots not running a job. A job queued a moment
    /// before it is placed in a free slot is not one.
    /// </summary>
    private static bool HasBacklog(int slots, int busy, int queued) => queued > Math.Max(0, slots - busy);

    /// <summary>The node's measured capacity: its peak 10-second rate (0 before it has generated).</summary>
    private double PeakOf(NodeReport node) => _peaks.GetValueOrDefault(node.NodeId).Rate;

    /// <summary>
    /// Whether the node's capacity is only a lower bound: nothing generated yet, or its peak was generated at a mean batch
    /// under half of its slots, so a fuller batch may well generate more.
    /// </summary>
    private bool IsLowerBound(NodeReport node)
    {
        var (rate, batch) = _peaks.GetValueOrDefault(node.NodeId);
        return rate <= 0 || batch * 2 < node.MaxBatchSize;
    }

    private ModelCapacity Model(string model, long tpm, List<LatencySeries> latency)
    {
        var load = _loads.GetValueOrDefault(model);
        var serving = _nodes.Where(n => !n.Draining && (n.Models.Contains(model) || n.LoadableModels.Contains(model))).ToList();
        var served = _nodes.Sum(n => n.TokensPerSecond10s * ShareOf(n, model));
        var capacity = serving.Sum(PeakOf);
        var lowerBound = serving.Any(IsLowerBound);
        var slots = load?.SlotsByNode.Values.Sum() ?? 0;
        var busy = load?.Running ?? 0;
        var queued = load?.Queued ?? 0;
        var backlog = HasBacklog(slots, busy, queued);
        var demand = Demand(model, served, backlog ? load!.QueuedTokens : 0);
        var (headroom, tenants) = Headroom(capacity, demand, lowerBound, backlog, tpm);
        var at = load?.At ?? _sampledAt;
        return new ModelCapacity
        {
            Model = model,
            Demand = new ModelDemand
            {
                RequestedTokensPerSecond = demand,
                QueuedJobs = load?.Queued ?? 0,
                QueuedTokens = load?.QueuedTokens ?? 0,
                RunningJobs = load?.Running ?? 0,
                OldestWaitSeconds = load?.OldestEnqueuedAt is { } oldest ? Math.Max(0, (at - oldest).TotalSeconds) : 0,
                MeanWaitSeconds = load is { Queued: > 0 } ? load.TotalWaitSeconds / load.Queued : 0,
                ExpectedWaitSeconds = load is { SlotsFreedPerSecond: > 0 } ? load.Queued / load.SlotsFreedPerSecond : null,
                DispatchesPerSecond = load?.DispatchesPerSecond ?? 0,
                TokensGenerated = load?.TokensGenerated ?? 0,
                UnservedSeconds = load?.UnservedSince is { } since ? Math.Max(0, (at - since).TotalSeconds) : null,
            },
            Supply = new ModelSupply
            {
                Nodes = serving.Count,
                TokensPerSecond = served,
                CapacityTokensPerSecond = capacity,
                Utilization = capacity > 0 ? served / capacity : null,
                Slots = slots,
                BusySlots = busy,
                SlotUtilization = slots > 0 ? (double)busy / slots : null,
                CapacityIsLowerBound = lowerBound,
            },
            HeadroomTokensPerSecond = headroom,
            HeadroomTenants = tenants,
            Latency = Summaries(latency.Where(s => s.Model == model)),
            HeadroomSlots = Math.Max(0, slots - busy - queued),
        };
    }

    /// <summary>
    /// The part of a node's rate that is the model's: by the model's running jobs among all running on the node, or,
    /// with none running, split evenly over its loaded models.
    /// </summary>
    private double ShareOf(NodeReport node, string model)
    {
        var running = _loads.Values.Sum(l => l.RunningByNode.GetValueOrDefault(node.NodeId));
        if (running > 0)
        {
            return (double)(_loads.GetValueOrDefault(model)?.RunningByNode.GetValueOrDefault(node.NodeId) ?? 0) / running;
        }

        return node.Models.Contains(model) ? 1.0 / node.Models.Length : 0;
    }

    /// <summary>
    /// The tokens per second asked of the model: those <paramref name="served"/> plus the growth of its queue, at least 0.
    /// With a backlog of <paramref name="backlogTokens"/> (its queued tokens while jobs wait that the free slots cannot
    /// take), at least served plus the backlog over the demand window: what would serve the running jobs and clear the
    /// queue within one window. A queue that shrinks while jobs still wait for a slot, or one that nothing drains (every
    /// node draining), is still work asked.
    /// </summary>
    private double Demand(string model, double served, long backlogTokens) =>
        Math.Max(0, served + Math.Max(QueueGrowth(model), backlogTokens / Options.DemandWindow.TotalSeconds));

    /// <summary>How fast the model's queued tokens grew (negative: shrank) over the demand window, in tokens per second.</summary>
    private double QueueGrowth(string model)
    {
        if (!_queued.TryGetValue(model, out var history) || history.Count < 2)
        {
            return 0;
        }

        var (fromAt, fromTokens) = history.Peek();
        var (toAt, toTokens) = history.Last();
        var seconds = (toAt - fromAt).TotalSeconds;
        return seconds > 0 ? (toTokens - fromTokens) / seconds : 0;
    }

    private NodeCapacity Node(NodeReport n)
    {
        var (peak, batch) = _peaks.GetValueOrDefault(n.NodeId);
        return new NodeCapacity
        {
            NodeId = n.NodeId,
            Silo = n.Silo,
            Device = n.Device,
            Provider = n.Provider,
            Models = n.Models,
            Draining = n.Draining,
            TokensPerSecond = n.TokensPerSecond10s,
            TokensPerSecondMinute = n.TokensPerSecond60s,
            CapacityTokensPerSecond = peak,
            Utilization = peak > 0 ? n.TokensPerSecond10s / peak : null,
            ActiveSequences = n.ActiveSequences,
            QueuedSequences = n.QueuedSequences,
            MaxBatchSize = n.MaxBatchSize,
            TokensGenerated = n.TokensGenerated,
            MemoryUsedBytes = n.MemoryUsedBytes,
            MemoryBudgetBytes = n.MemoryBudgetBytes,
            PeakBatchSize = batch,
            CapacityIsLowerBound = IsLowerBound(n),
            SlotUtilization = n.MaxBatchSize > 0 ? (double)n.ActiveSequences / n.MaxBatchSize : null,
        };
    }

    /// <summary>The latest histograms of the silos that reported within three report periods.</summary>
    private List<LatencySeries> LiveLatency(DateTimeOffset now)
    {
        var cutoff = now - (3 * Options.LatencyReportPeriod);
        foreach (var silo in _latency.Where(l => l.Value.At < cutoff).Select(l => l.Key).ToList())
        {
            _latency.Remove(silo);
        }

        return [.. _latency.Values.SelectMany(l => l.Series)];
    }

    /// <summary>Per measurement, the silos' (and models') histograms added up, with their percentiles.</summary>
    private static List<LatencySummary> Summaries(IEnumerable<LatencySeries> series) =>
    [
        .. series.GroupBy(s => s.Metric, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var buckets = new long[LatencyBuckets.Bounds.Count + 1];
            // A silo of another version may count into other bounds (a rolling update): its counts would land in the
            // wrong buckets, so they are left out until it runs this version.
            foreach (var s in g.Where(s => s.Buckets.Length == buckets.Length))
            {
                for (var i = 0; i < buckets.Length; i++)
                {
                    buckets[i] += s.Buckets[i];
                }
            }

            var count = buckets.Sum();
            return new LatencySummary
            {
                Metric = g.Key,
                Count = count,
                MeanSeconds = count > 0 ? g.Where(s => s.Buckets.Length == buckets.Length).Sum(s => s.Sum) / count : null,
                P50Seconds = LatencyBuckets.Quantile(buckets, 0.5),
                P90Seconds = LatencyBuckets.Quantile(buckets, 0.9),
                P99Seconds = LatencyBuckets.Quantile(buckets, 0.99),
            };
        }),
    ];
}
