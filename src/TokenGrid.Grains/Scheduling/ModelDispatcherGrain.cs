using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// The queue and placement of one model (key: model name); see <see cref="IModelDispatcherGrain"/> and
/// docs/scheduling.md.
/// </summary>
/// <remarks>
/// Scaling: one activation per model, each placed by Orleans on some silo, so the dispatch work spreads with the
/// number of models and no grain sees the whole cluster's traffic. Per job it handles two short calls (enqueue,
/// release) and makes one one-way callback; it reads the node registry at most a few times per second. A model too hot
/// for one activation can be sharded later by key <c>{model}/{shard}</c>, jobs hashed to a shard and each shard given
/// a share of every node's slots. Non-reentrant: every call sees consistent queues and slots; nothing here awaits a job.
/// State lives in memory: after a failover the new activation relearns the nodes from the registry at once, and the jobs
/// of the lost activation come back through their recovery (queued ones enqueue again, running ones adopt their slot).
/// </remarks>
public sealed partial class ModelDispatcherGrain(
    IOptions<SchedulingOptions> options,
    IOptions<NodeOptions> nodeOptions,
    IClusterMembershipService membership,
    TokenGridInstruments instruments,
    TimeProvider timeProvider,
    ILogger<ModelDispatcherGrain> logger)
    : Grain, IModelDispatcherGrain
{
    private readonly Dictionary<string, NodeSlots> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningJob> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DispatchRequest> _preempting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TenantStats> _tenants = new(StringComparer.Ordinal);
    private FairQueue _queue = null!;
    private RateWindow _drain = null!;
    private DateTimeOffset _refreshedAt = DateTimeOffset.MinValue;
    private long _preemptions;

    private string Model => this.GetPrimaryKeyString();

    private SchedulingOptions Options => options.Value;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _queue = new FairQueue(Options.AgingInterval);
        _drain = new RateWindow(Options.DrainRateWindow);
        await RefreshNodesAsync();
        var period = Options.RefreshPeriod;
        this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
    }

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync(DispatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = timeProvider.GetUtcNow();
        if (_queue.Contains(request.JobId) || _running.ContainsKey(request.JobId))
        {
            return Queued(request.JobId, now);
        }

        if (!request.Resumed)
        {
            if (!AnyKnownNodeMayRun(request))
            {
                // A node may have joined since the last refresh: look once more before refusing.
                await RefreshNodesAsync();
                if (!AnyKnownNodeMayRun(request))
                {
                    return Refuse(request, SchedulingRejection.NoEligibleNode, NoNodeMessage(request), null);
                }
            }

            var tenant = Tenant(request);
            var tenantQueued = _queue.CountFor(request.TenantId);
            if (tenantQueued >= Options.MaxQueuedPerTenant)
            {
                return Refuse(request, SchedulingRejection.TenantQueueFull,
                    $"Tenant '{request.TenantId}' has {tenantQueued} jobs waiting for model '{Model}', its most; retry later.",
                    RetryAfter(tenantQueued, tenant.Dispatches.Rate(now)));
            }

            if (_queue.Count >= Options.MaxQueuedPerModel)
            {
                return Refuse(request, SchedulingRejection.ModelQueueFull,
                    $"The queue of model '{Model}' is full ({_queue.Count} jobs waiting); retry later.",
                    RetryAfter(_queue.Count, _drain.Rate(now)));
            }
        }

        _queue.Enqueue(request);
        Dispatch(now);
        return Queued(request.JobId, now);
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string jobId, string? nodeId, int tokensGenerated)
    {
        var now = timeProvider.GetUtcNow();
        if (!_queue.Remove(jobId))
        {
            if (_running.Remove(jobId, out var run))
            {
                if (_nodes.TryGetValue(run.NodeId, out var node))
                {
                    node.Release(jobId);
                }

                Account(run.Request, tokensGenerated, wasRunning: true);
            }
            else if (_preempting.Remove(jobId, out var preempted))
            {
                Account(preempted, tokensGenerated, wasRunning: false);
            }

            if (now - _refreshedAt >= Options.MinRefreshInterval)
            {
                await RefreshNodesAsync();
            }
        }

        Dispatch(timeProvider.GetUtcNow());
    }

    /// <inheritdoc />
    public Task<QueuePosition?> GetPositionAsync(string jobId)
    {
        var now = timeProvider.GetUtcNow();
        var position = _queue.PositionOf(jobId, now);
        return Task.FromResult(position == 0 ? null : new QueuePosition(position, ExpectedWait(position, now)));
    }

    /// <inheritdoc />
    public Task<DispatcherSnapshot> GetSnapshotAsync()
    {
        var now = timeProvider.GetUtcNow();
        var nodes = _nodes.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal)
            .Select(n => new DispatcherNode(n.NodeId, n.Slots, n.Running, n.OutstandingTokens, n.Loaded, n.Report?.Draining ?? false, n.Dispatched))
            .ToList();
        var tenants = _tenants.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new DispatcherTenant(t.Key, t.Value.Weight, _queue.CountFor(t.Key), t.Value.Running, t.Value.TokensGenerated, t.Value.Dispatched))
            .ToList();
        return Task.FromResult(new DispatcherSnapshot(Model, _queue.Count, _running.Count, _drain.Rate(now), _preemptions, nodes, tenants));
    }

    /// <inheritdoc />
    public async Task RefreshAsync()
    {
        await RefreshNodesAsync();
        Dispatch(timeProvider.GetUtcNow());
    }

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        await RefreshNodesAsync();

        // Aging changes the order over time, and a node may have come back: dispatch even without a call.
        Dispatch(timeProvider.GetUtcNow());
    }

    /// <summary>Counts a run's real tokens for its tenant and gives back what its expected cost overestimated.</summary>
    private void Account(DispatchRequest request, int tokensGenerated, bool wasRunning)
    {
        var tenant = Tenant(request);
        if (wasRunning)
        {
            tenant.Running = Math.Max(0, tenant.Running - 1);
        }

        tenant.TokensGenerated += tokensGenerated;
        _queue.Credit(request.TenantId, request.Weight, Math.Max(0, request.MaxTokens - tokensGenerated));
    }

    private TenantStats Tenant(DispatchRequest request)
    {
        if (!_tenants.TryGetValue(request.TenantId, out var tenant))
        {
            _tenants[request.TenantId] = tenant = new TenantStats(new RateWindow(Options.DrainRateWindow));
        }

        tenant.Weight = request.Weight;
        return tenant;
    }

    private sealed record RunningJob(DispatchRequest Request, string NodeId, DateTimeOffset StartedAt, double StartTag);

    private sealed class TenantStats(RateWindow dispatches)
    {
        public RateWindow Dispatches { get; } = dispatches;

        public int Weight { get; set; } = 1;

        public int Running { get; set; }

        public long Dispatched { get; set; }

        public long TokensGenerated { get; set; }
    }
}
