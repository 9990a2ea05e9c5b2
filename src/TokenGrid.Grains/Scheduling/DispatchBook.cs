using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Scheduling;

/// <summary>A job holding a slot: its request, its node, when it started and its start tag in the fair queue.</summary>
internal sealed record RunningJob(DispatchRequest Request, string NodeId, DateTimeOffset StartedAt, double StartTag);

/// <summary>A job dispatching started on a node, after preempting <see cref="Victim"/> for <see cref="Reason"/> when given.</summary>
internal sealed record JobStart(QueuedJob Job, string NodeId, RunningJob? Victim = null, string? Reason = null);

/// <summary>A tenant's counters at one dispatcher.</summary>
internal sealed class DispatchTenant(TimeSpan window)
{
    /// <summary>The tenant's recent dispatches.</summary>
    public RateWindow Dispatches { get; } = new(window);

    /// <summary>Slots the tenant's runs freed recently, by ending: how fast its full queue moves, for its retry-after.</summary>
    public RateWindow SlotsFreed { get; } = new(window);

    /// <summary>The tenant's fair-share weight, as its latest request gave it.</summary>
    public int Weight { get; set; } = 1;

    /// <summary>The tenant's jobs holding a slot.</summary>
    public int Running { get; set; }

    /// <summary>The tenant's jobs dispatched so far.</summary>
    public long Dispatched { get; set; }

    /// <summary>Tokens the tenant's released runs generated.</summary>
    public long TokensGenerated { get; set; }
}

/// <summary>
/// The bookkeeping of one model's dispatcher: the fair queue, the nodes and their slots, the running and preempted jobs,
/// the tenants' counters and the drain rate, and the decisions on them (which waiting job goes to which node, which
/// running job a waiting one preempts). It decides and records; the grain talks to jobs, nodes and the registry, and
/// logs. Not thread-safe: owned by one dispatcher grain.
/// </summary>
internal sealed class DispatchBook(string model, SchedulingOptions options)
{
    private readonly Dictionary<string, NodeSlots> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningJob> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DispatchRequest> _preempting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DispatchTenant> _tenants = new(StringComparer.Ordinal);

    /// <summary>The waiting jobs.</summary>
    public FairQueue Queue { get; } = new(options.AgingInterval);

    /// <summary>The model's dispatches over the recent window, placements into idle slots included.</summary>
    public RateWindow Drain { get; } = new(options.DrainRateWindow);

    /// <summary>
    /// Slots freed by runs that ended, over the recent window: how fast a full model's queue drains, each freed slot taking
    /// its next job. Dispatches into slots that were idle move no queue, so after a quiet spell the rate is 0 (unknown)
    /// until a run ends, rather than the burst that filled the idle slots.
    /// </summary>
    public RateWindow SlotsFreed { get; } = new(options.DrainRateWindow);

    /// <summary>Running jobs preempted so far.</summary>
    public long Preemptions { get; private set; }

    /// <summary>The known nodes serving the model (and nodes gone from the registry whose jobs still hold slots).</summary>
    public IReadOnlyCollection<NodeSlots> Nodes => _nodes.Values;

    /// <summary>The jobs holding a slot, by id.</summary>
    public IReadOnlyDictionary<string, RunningJob> Running => _running;

    /// <summary>The counters of every tenant seen, by id.</summary>
    public IReadOnlyDictionary<string, DispatchTenant> Tenants => _tenants;

    /// <summary>The node, or null when it is not known here.</summary>
    public NodeSlots? Node(string nodeId) => _nodes.GetValueOrDefault(nodeId);

    /// <summary>Whether the job waits or runs here.</summary>
    public bool QueuedOrRunning(string jobId) => Queue.Contains(jobId) || _running.ContainsKey(jobId);

    /// <summary>The tenant's counters, created on first sight; its weight is the request's.</summary>
    public DispatchTenant Tenant(DispatchRequest request)
    {
        if (!_tenants.TryGetValue(request.TenantId, out var tenant))
        {
            _tenants[request.TenantId] = tenant = new DispatchTenant(options.DrainRateWindow);
        }

        tenant.Weight = request.Weight;
        return tenant;
    }

    /// <summary>
    /// Fills free slots: the best waiting job (class, then fair share) that an allowed node has room for goes to the
    /// best such node; a job no free slot may take, or one waiting for a cheaper node (<see cref="CheapestPlacement"/>),
    /// is skipped for the next one, so constrained tenants never block the rest. When nothing fits, a waiting High job
    /// may preempt a Low one (see <see cref="TryPreempt"/>). Returns the jobs started, in order.
    /// </summary>
    public List<JobStart> Dispatch(DateTimeOffset now)
    {
        var started = new List<JobStart>();
        while (Queue.Count > 0)
        {
            var placed = false;
            foreach (var head in Queue.Heads(now))
            {
                if (Place(head.Request, now) is { } node)
                {
                    Start(head, node, now);
                    started.Add(new JobStart(head, node.NodeId));
                    placed = true;
                    break;
                }
            }

            // A preemption places the job it made room for itself, so the freed slot cannot go to another.
            if (!placed)
            {
                if (TryPreempt(now) is not { } preempted)
                {
                    break;
                }

                started.Add(preempted);
            }
        }

        return started;
    }

    /// <summary>
    /// Frees the job's slot or queue entry and counts its real tokens for its tenant; a run that ended counts as a slot
    /// freed at <paramref name="now"/>. False when it was waiting in the queue (removed without running), true otherwise.
    /// </summary>
    public bool Release(string jobId, int tokensGenerated, DateTimeOffset now)
    {
        if (Queue.Remove(jobId))
        {
            return false;
        }

        if (_running.Remove(jobId, out var run))
        {
            if (_nodes.TryGetValue(run.NodeId, out var node))
            {
                node.Release(jobId);
            }

            Account(run.Request, tokensGenerated, wasRunning: true);
            SlotsFreed.Add(now);
            Tenant(run.Request).SlotsFreed.Add(now);
        }
        else if (_preempting.Remove(jobId, out var preempted))
        {
            Account(preempted, tokensGenerated, wasRunning: false);
        }

        return true;
    }

    /// <summary>
    /// Records a job already running on <paramref name="nodeId"/> (after a failover of the dispatcher). False when the
    /// job is known here already or the node is not.
    /// </summary>
    public bool Adopt(DispatchRequest request, string nodeId, DateTimeOffset now)
    {
        if (QueuedOrRunning(request.JobId) || _preempting.ContainsKey(request.JobId) || !_nodes.TryGetValue(nodeId, out var node))
        {
            return false;
        }

        node.Place(request.JobId, request.Cost, request.PrefixBlocks, request.PrefixBlockTokens);
        _running[request.JobId] = new RunningJob(request, nodeId, now, StartTag: 0);
        Tenant(request).Running++;
        return true;
    }

    /// <summary>The <c>region</c> label of <paramref name="nodeId"/> as last reported, or null.</summary>
    public string? RegionOf(string nodeId) =>
        _nodes.TryGetValue(nodeId, out var node) && node.Report?.Labels.TryGetValue(RegionLabel, out var region) == true ? region : null;

    /// <summary>The node label that names where a node's tokens are created, for pricing and the oversight views.</summary>
    public const string RegionLabel = "region";

    /// <summary>
    /// Takes the registry's reports. Returns the nodes missing from them whose silo left the cluster, for the caller to
    /// <see cref="Lose"/>; any other node gone keeps its running jobs' slots until they are released.
    /// </summary>
    public List<NodeSlots> Refresh(IReadOnlyList<NodeReport> reports, DateTimeOffset refreshedAt, TimeSpan reportLifetime, Func<string, bool> isGone)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var report in reports)
        {
            if (!PlacementPolicy.Serves(report, model))
            {
                // A node that served the model and reports that it no longer does (its load failed): nothing more is
                // placed there, and no request waits for it; its running jobs keep their slots until released.
                if (_nodes.TryGetValue(report.NodeId, out var withdrawn))
                {
                    if (withdrawn.Running == 0)
                    {
                        _nodes.Remove(report.NodeId);
                    }
                    else
                    {
                        seen.Add(report.NodeId);
                        withdrawn.Update(report, model, SlotsFor(report));
                    }
                }

                continue;
            }

            seen.Add(report.NodeId);
            if (!_nodes.TryGetValue(report.NodeId, out var node))
            {
                _nodes[report.NodeId] = node = new NodeSlots(report.NodeId);
            }

            node.Update(report, model, SlotsFor(report));
        }

        var lost = new List<NodeSlots>();
        foreach (var node in _nodes.Values.Where(n => !seen.Contains(n.NodeId)).ToList())
        {
            if (isGone(node.NodeId))
            {
                lost.Add(node);
                continue;
            }

            // A registry that just moved (its silo died) has not heard from every node yet: a node whose silo is alive
            // keeps its last report until that would have expired anyway.
            if (node.Report is { } last && last.ReportedAt >= refreshedAt - reportLifetime)
            {
                continue;
            }

            // Silent, not gone: it is not placed on, but requests it could run still wait for it (see SilentNodeGrace).
            node.Report = null;
            if (node.Running == 0 && !IsSilentWithinGrace(node, refreshedAt))
            {
                _nodes.Remove(node.NodeId);
            }
        }

        return lost;
    }

    /// <summary>Forgets a node whose silo left the cluster, freeing its slots; returns its running jobs, to recover.</summary>
    public List<RunningJob> Lose(NodeSlots node)
    {
        var lost = new List<RunningJob>();
        foreach (var jobId in node.Jobs.ToList())
        {
            node.Release(jobId);
            if (_running.Remove(jobId, out var run))
            {
                Account(run.Request, 0, wasRunning: true);
                lost.Add(run);
            }
        }

        _nodes.Remove(node.NodeId);
        return lost;
    }

    /// <summary>
    /// Whether any live node (draining ones too) serves the model with the job's labels, or a node that
    /// fell silent less than <see cref="SchedulingOptions.SilentNodeGrace"/> before <paramref name="now"/> did.
    /// </summary>
    public bool AnyNodeMayRun(DispatchRequest request, DateTimeOffset now) =>
        _nodes.Values.Any(n => (n.Report ?? (IsSilentWithinGrace(n, now) ? n.LastReport : null)) is { } r
            && PlacementPolicy.Fits(r, model, request));

    /// <summary>
    /// Whether every node <see cref="AnyNodeMayRun"/> counts for the job is draining: taken out of service by an
    /// operator, so nothing new is placed on any of them until one resumes. True when no node counts at all (nothing
    /// would move the job either); callers that refuse check <see cref="AnyNodeMayRun"/> first.
    /// </summary>
    public bool AllDraining(DispatchRequest request, DateTimeOffset now) =>
        _nodes.Values
            .Select(n => n.Report ?? (IsSilentWithinGrace(n, now) ? n.LastReport : null))
            .Where(r => r is not null && PlacementPolicy.Fits(r, model, request))
            .All(r => r!.Draining);

    /// <summary>
    /// Since when no node serves the model, neither live nor silent within <see cref="SchedulingOptions.SilentNodeGrace"/>
    /// (labels and fingerprints aside), as of the last <see cref="NoteServed"/>; null while one does.
    /// </summary>
    public DateTimeOffset? UnservedSince { get; private set; }

    /// <summary>Notes whether any node serves the model at <paramref name="now"/> (after a refresh and its losses).</summary>
    public void NoteServed(DateTimeOffset now)
    {
        var served = _nodes.Values.Any(n => (n.Report ?? (IsSilentWithinGrace(n, now) ? n.LastReport : null)) is { } r && PlacementPolicy.Serves(r, model));
        UnservedSince = served ? null : UnservedSince ?? now;
    }

    /// <summary>Whether no node has served the model for <paramref name="grace"/> or longer at <paramref name="now"/>.</summary>
    public bool UnservedFor(DateTimeOffset now, TimeSpan grace) => UnservedSince is { } since && now - since >= grace;

    /// <summary>
    /// Takes every waiting job out of the queue when no node has served the model for <paramref name="grace"/>: nothing
    /// would ever place them. Returns them, for the caller to end; none while a node serves the model or within the grace.
    /// </summary>
    public List<DispatchRequest> TakeUnserved(DateTimeOffset now, TimeSpan grace)
    {
        if (Queue.Count == 0 || !UnservedFor(now, grace))
        {
            return [];
        }

        var waiting = Queue.Jobs.Select(j => j.Request).ToList();
        foreach (var request in waiting)
        {
            Queue.Remove(request.JobId);
        }

        return waiting;
    }

    /// <summary>Whether any node with a live report (draining ones too) serves the model with the job's labels.</summary>
    public bool AnyLiveNodeMayRun(DispatchRequest request) =>
        _nodes.Values.Any(n => n.Report is { } r && PlacementPolicy.Fits(r, model, request));

    /// <summary>Whether the node has no live report but its last one is within the silent-node grace of <paramref name="now"/>.</summary>
    private bool IsSilentWithinGrace(NodeSlots node, DateTimeOffset now) =>
        node is { Report: null, UnreachableAfter: null, LastReport: { } last } && last.ReportedAt >= now - options.SilentNodeGrace;

    /// <summary>The node's batch size for one model: configured, or the report's capacity over its loaded engines.</summary>
    private int SlotsFor(NodeReport report) =>
        options.SlotsPerNode > 0 ? options.SlotsPerNode : Math.Max(1, report.MaxBatchSize / Math.Max(1, report.Models.Length));

    private void Start(QueuedJob job, NodeSlots node, DateTimeOffset now, bool inOrder = true)
    {
        var request = job.Request;
        Queue.Dispatch(job, inOrder);

        // The prompt tokens the node holds cost it no prefill: its outstanding work grows by the rest only, so the next
        // turns of conversations it holds keep going to it rather than counting as a full prompt each.
        var cached = PrefixAffinity.Of(request, options)?.CachedTokens(node, model) ?? 0;
        node.Place(request.JobId, request.Cost - cached, request.PrefixBlocks, request.PrefixBlockTokens);
        _running[request.JobId] = new RunningJob(request, node.NodeId, now, job.StartTag);
        var tenant = Tenant(request);
        tenant.Running++;
        tenant.Dispatched++;
        tenant.Dispatches.Add(now);
        Drain.Add(now);
        SlotsFreed.Begin(now);
        tenant.SlotsFreed.Begin(now);
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
        Queue.Credit(request.TenantId, request.Weight, Math.Max(0, request.MaxTokens - tokensGenerated));
    }

    /// <summary>
    /// The node the job should take now, or null: by price for a job with region costs, else by <see cref="PlacementPolicy"/>;
    /// either way weighing what the nodes' prefix caches would save it (<see cref="PrefixAffinity"/>).
    /// </summary>
    private NodeSlots? Place(DispatchRequest request, DateTimeOffset now) => request.RegionCosts is not null
        ? CheapestPlacement.Choose(_nodes.Values, model, request, now, SiblingNode(request), PrefixAffinity.Of(request, options))
        : PlacementPolicy.Choose(_nodes.Values, model, request.RequiredLabels, SiblingNode(request), PrefixAffinity.Of(request, options), request.ModelFingerprint);

    /// <summary>The node of a running choice of the same <c>n</c> &gt; 1 request, where the job would fork from its prompt.</summary>
    private string? SiblingNode(DispatchRequest request) => request.AffinityKey is { } key
        ? _running.Values.FirstOrDefault(r => string.Equals(r.Request.AffinityKey, key, StringComparison.Ordinal))?.NodeId
        : null;

    /// <summary>
    /// Makes room for a waiting job when no slot it may use is free, by preempting one running job, and places the
    /// waiting job in the freed slot. Two rules, in order:
    /// <list type="number">
    /// <item>Priority: a High job preempts a Low one.</item>
    /// <item>Fair share: the one job of a tenant that just became active (nothing else queued or running), when its
    /// weighted share of the slots it may use is at least one, preempts a job of a tenant running more than its own
    /// share, of no higher class, whose virtual service it overlaps (the waiting job's start tag is before the running
    /// one's finish tag): under fluid fair sharing both would be served now. Backlogged tenants are served by the fair
    /// queue alone. This is what keeps a light tenant's time to
    /// first token near its idle value while another tenant holds every slot with long jobs.</item>
    /// </list>
    /// The victim is the one that started last (the least work lost), it must be preemptible, and under the priority
    /// rule it must still be Low after aging, so a batch job that has waited long enough is not preempted again.
    /// </summary>
    private JobStart? TryPreempt(DateTimeOffset now)
    {
        if (!options.Preemption || _running.Count == 0)
        {
            return null;
        }

        foreach (var head in Queue.Heads(now))
        {
            var request = head.Request;

            // A job waiting for a cheaper node while a dearer one is free waits by choice: it preempts no one.
            if (request.RegionCosts is not null && PlacementPolicy.Choose(_nodes.Values, model, request.RequiredLabels, fingerprint: request.ModelFingerprint) is not null)
            {
                continue;
            }

            var headClass = Queue.EffectiveClass(request, now);
            RunningJob? victim = null;
            var reason = "priority";
            if (request.Priority == PriorityClass.High)
            {
                victim = Youngest(request, run => Queue.EffectiveClass(run.Request, now) == PriorityClass.Low);
            }

            // Only a tenant that just became active (this one job, nothing running) preempts for its share: a
            // backlogged tenant is served by the fair queue alone. And only a victim whose virtual service the job
            // overlaps (it starts before the victim finishes, in virtual time) loses its slot.
            if (victim is null && options.FairSharePreemption && Queue.CountFor(request.TenantId) == 1 && BelowShare(request))
            {
                reason = "fair_share";
                victim = Youngest(request, run => head.StartTag < run.StartTag + ((double)run.Request.Cost / Math.Max(1, run.Request.Weight))
                    && Queue.EffectiveClass(run.Request, now) <= headClass && AboveShare(run.Request));
            }

            if (victim is not null)
            {
                Preempt(victim);
                Start(head, _nodes[victim.NodeId], now, inOrder: false);
                return new JobStart(head, victim.NodeId, victim, reason);
            }
        }

        return null;
    }

    private void Preempt(RunningJob victim)
    {
        var jobId = victim.Request.JobId;
        _running.Remove(jobId);
        _nodes[victim.NodeId].Release(jobId);
        _preempting[jobId] = victim.Request;
        var tenant = Tenant(victim.Request);
        tenant.Running = Math.Max(0, tenant.Running - 1);
        Preemptions++;
    }

    /// <summary>
    /// The preemptible running job matching <paramref name="eligible"/> that started last on a node
    /// <paramref name="waiting"/> may use, among those preempted least often: a job that was preempted and resumed has just
    /// started again, so it would otherwise lose its slot (and recompute what it made) to every new preemptor in turn,
    /// while the others never did.
    /// </summary>
    private RunningJob? Youngest(DispatchRequest waiting, Func<RunningJob, bool> eligible)
    {
        RunningJob? youngest = null;
        static bool Younger(RunningJob run, RunningJob than) =>
            run.Request.Preemptions != than.Request.Preemptions ? run.Request.Preemptions < than.Request.Preemptions : run.StartedAt > than.StartedAt;

        foreach (var run in _running.Values)
        {
            if (run.Request.Preemptible && (youngest is null || Younger(run, youngest))
                && _nodes.TryGetValue(run.NodeId, out var node) && node.Report is { } report
                && PlacementPolicy.Allows(report, model, waiting.RequiredLabels, waiting.ModelFingerprint) && eligible(run))
            {
                youngest = run;
            }
        }

        return youngest;
    }

    /// <summary>Whether the tenant runs fewer jobs than its share of the slots the job may use, less one: it could take one more.</summary>
    private bool BelowShare(DispatchRequest request) =>
        Tenant(request).Running + 1 <= FairShare(request);

    /// <summary>Whether the tenant runs more jobs than its share of the slots the job may use.</summary>
    private bool AboveShare(DispatchRequest request) =>
        Tenant(request).Running > FairShare(request);

    /// <summary>
    /// The tenant's weighted share of the slots on nodes the request may use, among the tenants with jobs running or
    /// waiting here.
    /// </summary>
    private double FairShare(DispatchRequest request)
    {
        var slots = _nodes.Values.Where(n => n.Report is { } r && PlacementPolicy.Allows(r, model, request.RequiredLabels, request.ModelFingerprint)).Sum(n => n.Slots);
        var totalWeight = _tenants.Where(t => t.Value.Running > 0 || Queue.CountFor(t.Key) > 0).Sum(t => (double)t.Value.Weight);
        return totalWeight <= 0 ? slots : slots * Math.Max(1, request.Weight) / totalWeight;
    }
}
