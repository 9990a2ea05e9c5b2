using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// The queue and placement of one model (key: model name); see <see cref="IModelDispatcherGrain"/> and
/// docs/scheduling.md. The bookkeeping and the decisions (which job goes where, which one is preempted) are a
/// <see cref="DispatchBook"/>'s; this grain reads the node registry, answers callers and tells jobs what was decided.
/// </summary>
/// <remarks>
/// <para>
/// Scaling: one activation per model, each placed by Orleans on some silo, so the dispatch work spreads with the
/// number of models and no grain sees the whole cluster's traffic. Per job it handles two short calls (enqueue,
/// release) and makes one one-way callback; it reads the node registry at most a few times per second. A model too hot
/// for one activation can be sharded later by key <c>{model}/{shard}</c>, jobs hashed to a shard and each shard given
/// a share of every node's slots. Non-reentrant: every call sees consistent queues and slots; nothing here awaits a job.
/// </para>
/// <para>
/// State lives in memory. Silo failures as the dispatcher sees them: a node whose silo died loses its slots and its
/// jobs are told to recover (a job grain that died with the silo reactivates elsewhere from its checkpoint and queues
/// again); after the dispatcher's own silo died, the new activation relearns the nodes from the registry at once,
/// running jobs adopt their slots and waiting ones enqueue again.
/// </para>
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
    private DispatchBook _book = null!;
    private DateTimeOffset _refreshedAt = DateTimeOffset.MinValue;

    private string Model => this.GetPrimaryKeyString();

    private SchedulingOptions Options => options.Value;

    private FairQueue Queue => _book.Queue;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _book = new DispatchBook(Model, Options);
        await RefreshNodesAsync();
        var period = Options.RefreshPeriod;
        this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
    }

    /// <inheritdoc />
    public async Task<EnqueueResult> EnqueueAsync(DispatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = timeProvider.GetUtcNow();
        if (_book.Running.TryGetValue(request.JobId, out var placed))
        {
            // A job asks to queue only while it waits for a node: the start this dispatcher sent it is still in flight,
            // or went to an activation that died with its silo before saving that it ran (the job activated again and
            // the node it was given still holds the slot). Say the node again: an activation already told ignores it,
            // and a new one runs there and releases the slot when it ends, instead of waiting forever.
            GrainFactory.GetGrain<IJobGrain>(request.JobId).StartOnNodeAsync(placed.NodeId, Model, _book.RegionOf(placed.NodeId)).Ignore();
            return Queued(request.JobId, now);
        }

        if (_book.QueuedOrRunning(request.JobId))
        {
            return Queued(request.JobId, now);
        }

        if (!request.Resumed)
        {
            if (!_book.AnyLiveNodeMayRun(request))
            {
                // A node may have joined, or a silent one reported again, since the last refresh: look once more before
                // refusing or queueing for a silent node.
                await RefreshNodesAsync();
                if (!_book.AnyNodeMayRun(request, timeProvider.GetUtcNow()))
                {
                    return Refuse(request, SchedulingRejection.NoEligibleNode, NoNodeMessage(request), UnservedRetryAfter(timeProvider.GetUtcNow()));
                }
            }

            if (_book.AllDraining(request, now) && await RefreshedAllDrainingAsync(request))
            {
                // Nothing new goes to a drained node until an operator resumes it, which may be never: the request is
                // refused now (its client may retry), rather than waiting out its timeout with no wait to quote.
                return Refuse(request, SchedulingRejection.NoEligibleNode,
                    $"Every node that serves model '{Model}'{(request.RequiredLabels.Count == 0 ? "" : " with the tenant's labels")} is draining (out of service); retry later.", null);
            }

            var tenant = _book.Tenant(request);
            var tenantQueued = Queue.CountFor(request.TenantId);
            if (tenantQueued >= Options.MaxQueuedPerTenant)
            {
                return Refuse(request, SchedulingRejection.TenantQueueFull,
                    $"Tenant '{request.TenantId}' has {tenantQueued} jobs waiting for model '{Model}', its most; retry later.",
                    RetryAfter(tenantQueued, tenant.SlotsFreed.Rate(now)));
            }

            if (Queue.Count >= Options.MaxQueuedPerModel)
            {
                return Refuse(request, SchedulingRejection.ModelQueueFull,
                    $"The queue of model '{Model}' is full ({Queue.Count} jobs waiting); retry later.",
                    RetryAfter(Queue.Count, _book.SlotsFreed.Rate(now)));
            }
        }
        else if (await NoNodeHasFingerprintAsync(request) || await UnservedPastGraceAsync())
        {
            return Refuse(request, SchedulingRejection.NoEligibleNode, NoNodeMessage(request), null);
        }

        Queue.Enqueue(request);
        Dispatch(now);
        return Queued(request.JobId, now);
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string jobId, string? nodeId, int tokensGenerated)
    {
        var now = timeProvider.GetUtcNow();
        if (_book.Release(jobId, tokensGenerated, now) && now - _refreshedAt >= Options.MinRefreshInterval)
        {
            await RefreshNodesAsync();
        }

        Dispatch(timeProvider.GetUtcNow());
    }

    /// <inheritdoc />
    public Task<QueuePosition?> GetPositionAsync(string jobId)
    {
        var now = timeProvider.GetUtcNow();
        var position = Queue.PositionOf(jobId, now);
        return Task.FromResult(position == 0 ? null : new QueuePosition(position, WaitEstimates.ExpectedWait(position, WaitRate(jobId, now))));
    }

    /// <inheritdoc />
    public Task<DispatcherSnapshot> GetSnapshotAsync()
    {
        var now = timeProvider.GetUtcNow();
        var nodes = _book.Nodes.OrderBy(n => n.NodeId, StringComparer.Ordinal)
            .Select(n => new DispatcherNode(n.NodeId, n.Slots, n.Running, n.OutstandingTokens, n.Loaded, n.Report?.Draining ?? false, n.Dispatched))
            .ToList();
        var tenants = _book.Tenants.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new DispatcherTenant(t.Key, t.Value.Weight, Queue.CountFor(t.Key), t.Value.Running, t.Value.TokensGenerated, t.Value.Dispatched))
            .ToList();
        return Task.FromResult(new DispatcherSnapshot(Model, Queue.Count, _book.Running.Count, _book.Drain.Rate(now), _book.Preemptions, nodes, tenants, _book.SlotsFreed.Rate(now)));
    }

    /// <inheritdoc/>
    public Task<DispatcherLoad> GetLoadAsync()
    {
        var now = timeProvider.GetUtcNow();
        long queuedTokens = 0;
        double totalWait = 0;
        DateTimeOffset? oldest = null;
        foreach (var job in Queue.Jobs)
        {
            var request = job.Request;
            queuedTokens += request.MaxTokens;
            totalWait += Math.Max(0, (now - request.EnqueuedAt).TotalSeconds);
            if (oldest is null || request.EnqueuedAt < oldest)
            {
                oldest = request.EnqueuedAt;
            }
        }

        return Task.FromResult(new DispatcherLoad
        {
            Model = Model,
            Queued = Queue.Count,
            QueuedTokens = queuedTokens,
            OldestEnqueuedAt = oldest,
            TotalWaitSeconds = totalWait,
            DispatchesPerSecond = _book.Drain.Rate(now),
            SlotsFreedPerSecond = _book.SlotsFreed.Rate(now),
            RunningByNode = _book.Nodes.Where(n => n.Running > 0).ToDictionary(n => n.NodeId, n => n.Running, StringComparer.Ordinal),
            SlotsByNode = _book.Nodes.Where(n => n.Report is { Draining: false }).ToDictionary(n => n.NodeId, n => n.Slots, StringComparer.Ordinal),
            TokensGenerated = _book.Tenants.Values.Sum(t => t.TokensGenerated),
            At = now,
            UnservedSince = _book.UnservedSince,
        });
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, long>> GetDemandByLabelAsync()
    {
        var demand = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var job in Queue.Jobs)
        {
            var request = job.Request;
            foreach (var (key, value) in request.RequiredLabels)
            {
                var label = $"{key}={value}";
                demand[label] = demand.GetValueOrDefault(label) + request.PromptTokens + request.MaxTokens;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, long>>(demand);
    }

    /// <inheritdoc />
    public async Task RefreshAsync()
    {
        await RefreshNodesAsync();
        Dispatch(timeProvider.GetUtcNow());
    }

    /// <inheritdoc />
    public Task AdoptAsync(DispatchRequest request, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!membership.IsNodeGone(nodeId) && _book.Adopt(request, nodeId, timeProvider.GetUtcNow()))
        {
            LogAdopted(logger, request.JobId, Model, nodeId);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task NodeUnreachableAsync(string nodeId)
    {
        if (_book.Node(nodeId) is { UnreachableAfter: null } node)
        {
            node.MarkUnreachable();
            LogNodeUnreachable(logger, nodeId, Model);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The queue and slots live in memory: tell every known job to recover, so each one enqueues again or adopts its
        // slot in the next activation (the calls are delivered to it) instead of waiting for its tenant's reminder.
        instruments.OnQueueDepth(Model, 0, null);
        foreach (var (jobId, tenantId) in _book.Running.Select(r => (r.Key, r.Value.Request.TenantId)).Concat(Queue.Jobs.Select(q => (q.Request.JobId, q.Request.TenantId))).ToList())
        {
            GrainFactory.GetGrain<IJobGrain>(jobId).RecoverAsync(tenantId, Model).Ignore();
        }

        return Task.CompletedTask;
    }

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        await RefreshNodesAsync();

        // Aging changes the order over time, and a node may have come back: dispatch even without a call.
        Dispatch(timeProvider.GetUtcNow());
        EndUnserved(timeProvider.GetUtcNow());
        if (_book.UnservedSince is not null && Queue.Count > 0)
        {
            // No node advertises the model, so the capacity view would not list it: name it there while jobs wait.
            GrainFactory.GetGrain<ICapacityGrain>(0).NoteUnservedAsync(Model).Ignore();
        }
    }

    /// <summary>
    /// Ends every waiting job once no node has served the model for <see cref="SchedulingOptions.UnservedModelGrace"/>:
    /// nothing would place them before their timeout. Each is told one-way and fails with the reason.
    /// </summary>
    private void EndUnserved(DateTimeOffset now)
    {
        var waiting = _book.TakeUnserved(now, Options.UnservedModelGrace);
        if (waiting.Count == 0)
        {
            return;
        }

        LogUnserved(logger, Model, waiting.Count, (now - _book.UnservedSince!.Value).TotalSeconds);
        foreach (var request in waiting)
        {
            instruments.OnRejected(Model, SchedulingRejection.NoEligibleNode.ToCode());
            GrainFactory.GetGrain<IJobGrain>(request.JobId).NoNodeServesAsync(Model, NoNodeMessage(request)).Ignore();
        }

        instruments.OnQueueDepth(Model, Queue.Count, Queue.OldestEnqueuedAt);
    }

    /// <summary>Whether no node has served the model for the grace, after a look at the registry (a node may just have come back).</summary>
    private async Task<bool> UnservedPastGraceAsync()
    {
        if (!_book.UnservedFor(timeProvider.GetUtcNow(), Options.UnservedModelGrace))
        {
            return false;
        }

        await RefreshNodesAsync();
        return _book.UnservedFor(timeProvider.GetUtcNow(), Options.UnservedModelGrace);
    }

    /// <summary>
    /// When a new request for a model no node serves may try again: within the grace (a silo serving it may be
    /// restarting) at the end of it, else the longest <c>Retry-After</c>; within the configured bounds. Null while a node
    /// serves the model (the request fits none of them: labels, files), which gives no delay of its own.
    /// </summary>
    private TimeSpan? UnservedRetryAfter(DateTimeOffset now)
    {
        if (_book.UnservedSince is not { } since)
        {
            return null;
        }

        var left = Options.UnservedModelGrace - (now - since);
        return left <= TimeSpan.Zero ? Options.MaxRetryAfter
            : TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(left.TotalSeconds), Options.MinRetryAfter.TotalSeconds, Options.MaxRetryAfter.TotalSeconds));
    }

    /// <summary>Fills free slots (see <see cref="DispatchBook.Dispatch"/>) and tells each job started, and each preempted, one-way.</summary>
    private void Dispatch(DateTimeOffset now)
    {
        foreach (var start in _book.Dispatch(now))
        {
            var request = start.Job.Request;
            if (start is { Victim: { } victim, Reason: { } reason })
            {
                LogPreempted(logger, victim.Request.JobId, Model, victim.NodeId, request.JobId);
                GrainFactory.GetGrain<IJobGrain>(victim.Request.JobId).PreemptAsync().Ignore();
                instruments.OnPreempted(Model, reason);
            }

            if (!request.Resumed)
            {
                instruments.OnDispatched(Model, now - request.EnqueuedAt);
            }

            LogDispatched(logger, request.JobId, Model, start.NodeId, request.TenantId);

            // One-way: the job starts generating on its own; it releases the slot when it ends.
            GrainFactory.GetGrain<IJobGrain>(request.JobId).StartOnNodeAsync(start.NodeId, Model, _book.RegionOf(start.NodeId)).Ignore();
        }

        instruments.OnQueueDepth(Model, Queue.Count, Queue.OldestEnqueuedAt);
    }

    /// <summary>
    /// Reloads the nodes that serve this model from the registry. A node whose silo left the cluster is lost with its
    /// slots (its jobs are told to recover); any other node gone keeps its running jobs' slots until they are released.
    /// </summary>
    private async Task RefreshNodesAsync()
    {
        IReadOnlyList<NodeReport> reports;
        try
        {
            reports = await GrainFactory.GetGrain<INodeRegistryGrain>(0).ListForDispatcherAsync(Model);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRefreshFailed(logger, e, Model);
            return;
        }

        _refreshedAt = timeProvider.GetUtcNow();
        foreach (var node in _book.Refresh(reports, _refreshedAt, nodeOptions.Value.ReportLifetime, membership.IsNodeGone))
        {
            var jobs = node.Jobs.Count;
            foreach (var run in _book.Lose(node))
            {
                GrainFactory.GetGrain<IJobGrain>(run.Request.JobId).RecoverAsync(run.Request.TenantId, Model).Ignore();
            }

            LogNodeLost(logger, node.NodeId, Model, jobs);
        }

        _book.NoteServed(_refreshedAt);
    }

    /// <summary>
    /// The drain rate a queued job's wait is quoted from: none while every node the job may use is draining, as nothing
    /// moves it until one resumes.
    /// </summary>
    private double WaitRate(string jobId, DateTimeOffset now) =>
        Queue.Find(jobId) is { } queued && _book.AllDraining(queued.Request, now) ? 0 : _book.SlotsFreed.Rate(now);

    /// <summary>
    /// Whether every node the request may use still drains after a look at the registry: a node may have joined since
    /// the last refresh. At most one look per <see cref="SchedulingOptions.MinRefreshInterval"/>, so a burst of requests
    /// during a drain does not become a burst of registry calls.
    /// </summary>
    private async Task<bool> RefreshedAllDrainingAsync(DispatchRequest request)
    {
        if (timeProvider.GetUtcNow() - _refreshedAt >= Options.MinRefreshInterval)
        {
            await RefreshNodesAsync();
        }

        return _book.AllDraining(request, timeProvider.GetUtcNow());
    }

    private EnqueueResult Queued(string jobId, DateTimeOffset now)
    {
        var position = Queue.PositionOf(jobId, now);
        return new EnqueueResult
        {
            Queued = true,
            Position = position,
            ExpectedWait = position == 0 ? TimeSpan.Zero : WaitEstimates.ExpectedWait(position, WaitRate(jobId, now)),
        };
    }

    private EnqueueResult Refuse(DispatchRequest request, SchedulingRejection rejection, string message, TimeSpan? retryAfter)
    {
        LogRefused(logger, request.JobId, Model, rejection, message);
        instruments.OnRejected(Model, rejection.ToCode());
        return new EnqueueResult { Queued = false, Rejection = rejection, Message = message, RetryAfter = retryAfter };
    }

    private TimeSpan RetryAfter(int jobs, double perSecond) =>
        WaitEstimates.RetryAfter(jobs, perSecond, Options.MinRetryAfter, Options.MaxRetryAfter);

    private string NoNodeMessage(DispatchRequest request)
    {
        var live = _book.Nodes.Where(n => n.Report is not null && PlacementPolicy.Serves(n.Report, Model)).Select(n => n.Report!).ToList();
        return live.Count == 0 ? UnservedMessage(timeProvider.GetUtcNow())
            : request.ModelFingerprint is { } fingerprint && !live.Any(r => PlacementPolicy.HasFingerprint(r, Model, fingerprint))
                ? $"No node serves model '{Model}' from the files the job was tokenized with (fingerprint {fingerprint}; the nodes serve "
                    + $"{string.Join(", ", live.Select(r => r.ModelFingerprints.GetValueOrDefault(Model)).Distinct())}): the model's files differ "
                    + "between silos, and the job does not go on under other ones."
            : request.RequiredLabels.Count == 0 ? $"No node serves model '{Model}'."
            : $"No node with the labels {string.Join(", ", request.RequiredLabels.Select(l => $"{l.Key}={l.Value}"))} serves model '{Model}'; the job was not placed elsewhere.";
    }

    private string UnservedMessage(DateTimeOffset now) => _book.UnservedSince is { } since && now - since >= TimeSpan.FromSeconds(1)
        ? $"No node serves model '{Model}': none in the cluster has advertised it for {(int)(now - since).TotalSeconds} s (the silos serving it stopped, "
            + "do not have it, or failed to load it)."
        : $"No node serves model '{Model}'.";

    /// <summary>
    /// Whether a resumed job must end rather than queue: nodes serve the model, but none from the files it was tokenized
    /// with (its model was changed on them while it ran). A resumed job whose model no node serves at all waits, since its
    /// silo may be restarting.
    /// </summary>
    private async Task<bool> NoNodeHasFingerprintAsync(DispatchRequest request)
    {
        if (request.ModelFingerprint is null || !_book.Nodes.Any(n => n.Report is not null) || _book.AnyNodeMayRun(request, timeProvider.GetUtcNow()))
        {
            return false;
        }

        await RefreshNodesAsync();
        return _book.Nodes.Any(n => n.Report is not null) && !_book.AnyNodeMayRun(request, timeProvider.GetUtcNow());
    }
}
