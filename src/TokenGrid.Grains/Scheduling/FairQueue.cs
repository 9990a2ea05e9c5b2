using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// The waiting jobs of one model, in dispatch order: priority class first (with aging), then start-time fair queueing
/// (SFQ) across tenants, with cost counted in tokens. Each tenant has a FIFO flow. A job's start tag is
/// <c>max(V, the tenant's last finish tag)</c> and its finish tag <c>start + cost / weight</c>; the queue serves the
/// smallest start tag and moves the virtual time <c>V</c> up to it. Over time each backlogged tenant receives tokens in
/// proportion to its weight, and a tenant that was idle starts at <c>V</c>, so it neither banks credit nor waits behind
/// another tenant's backlog. Not thread-safe: owned by one dispatcher grain.
/// </summary>
public sealed class FairQueue(TimeSpan agingInterval)
{
    private readonly Dictionary<string, Flow> _flows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedJob> _jobs = new(StringComparer.Ordinal);
    private double _virtualTime;
    private long _sequence;

    /// <summary>Jobs waiting.</summary>
    public int Count => _jobs.Count;

    /// <summary>The virtual time: the start tag of the latest dispatched job.</summary>
    public double VirtualTime => _virtualTime;

    /// <summary>Jobs of <paramref name="tenantId"/> waiting.</summary>
    public int CountFor(string tenantId) => _flows.TryGetValue(tenantId, out var flow) ? flow.Jobs.Count : 0;

    /// <summary>Whether the job is waiting here.</summary>
    public bool Contains(string jobId) => _jobs.ContainsKey(jobId);

    /// <summary>The waiting job <paramref name="jobId"/>, or null when it is not waiting here.</summary>
    public QueuedJob? Find(string jobId) => _jobs.GetValueOrDefault(jobId);

    /// <summary>The waiting jobs, in no particular order.</summary>
    public IEnumerable<QueuedJob> Jobs => _jobs.Values;

    /// <summary>When the longest-waiting job was enqueued; null when the queue is empty.</summary>
    public DateTimeOffset? OldestEnqueuedAt => _jobs.Count == 0 ? null : _jobs.Values.Min(j => j.Request.EnqueuedAt);

    /// <summary>
    /// Adds a job behind its tenant's others, or in front of them when it is a preempted job resuming (it keeps its
    /// age; its start tag is the virtual time, and its tenant pays for the output still to come).
    /// </summary>
    public QueuedJob Enqueue(DispatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_flows.TryGetValue(request.TenantId, out var flow))
        {
            _flows[request.TenantId] = flow = new Flow();
        }

        // A resumed job pays only for the output still to come: its first dispatch paid for prompt and output, the
        // preemption credited back what was not produced, and the recomputed prompt is the scheduler's doing.
        var weight = Math.Max(1, request.Weight);
        var cost = request.Resumed ? request.MaxTokens : request.Cost;
        var start = request.Resumed ? _virtualTime : Math.Max(_virtualTime, flow.LastFinish);
        flow.LastFinish = Math.Max(flow.LastFinish, _virtualTime) + ((double)cost / weight);
        var job = new QueuedJob(request, start, _sequence++);
        if (request.Resumed)
        {
            flow.Jobs.AddFirst(job);
        }
        else
        {
            flow.Jobs.AddLast(job);
        }

        _jobs[request.JobId] = job;
        return job;
    }

    /// <summary>
    /// The head of each tenant's flow, best first: highest effective class, then smallest start tag, then arrival.
    /// A tenant's later jobs wait behind its head, so only heads are candidates.
    /// </summary>
    public List<QueuedJob> Heads(DateTimeOffset now)
    {
        var heads = new List<QueuedJob>(_flows.Count);
        foreach (var flow in _flows.Values)
        {
            if (flow.Jobs.First is { } first)
            {
                heads.Add(first.Value);
            }
        }

        heads.Sort((a, b) => Compare(a, b, now));
        return heads;
    }

    /// <summary>
    /// Takes a job out for dispatch and, in fair order, advances the virtual time to its start tag. A job started out of
    /// order (by preemption, ahead of smaller tags) leaves the virtual time alone, so the tenants it overtook keep their
    /// place.
    /// </summary>
    public void Dispatch(QueuedJob job, bool inOrder = true)
    {
        ArgumentNullException.ThrowIfNull(job);
        Take(job);
        if (inOrder)
        {
            _virtualTime = Math.Max(_virtualTime, job.StartTag);
        }
    }

    /// <summary>Removes a waiting job (cancelled or timed out) and gives its tenant back the cost it was charged.</summary>
    public bool Remove(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            return false;
        }

        Take(job);
        Credit(job.Request.TenantId, job.Request.Weight, job.Request.Cost);
        return true;
    }

    /// <summary>
    /// Gives a tenant back <paramref name="tokens"/> it was charged but did not use (a job's expected cost exceeded
    /// its real one); never below the virtual time, so no tenant banks credit.
    /// </summary>
    public void Credit(string tenantId, int weight, long tokens)
    {
        if (tokens > 0 && _flows.TryGetValue(tenantId, out var flow))
        {
            flow.LastFinish = Math.Max(_virtualTime, flow.LastFinish - ((double)tokens / Math.Max(1, weight)));
        }
    }

    /// <summary>The job's place in dispatch order (1 = next), or 0 when it is not waiting.</summary>
    public int PositionOf(string jobId, DateTimeOffset now)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            return 0;
        }

        var ahead = 0;
        foreach (var other in _jobs.Values)
        {
            if (Compare(other, job, now) < 0)
            {
                ahead++;
            }
        }

        return ahead + 1;
    }

    /// <summary>The class a waiting job competes in: its own, one level up per aging interval waited since it was first queued.</summary>
    public PriorityClass EffectiveClass(DispatchRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        var waited = now - request.EnqueuedAt;
        var steps = waited <= TimeSpan.Zero ? 0 : (int)Math.Min(2, waited.Ticks / agingInterval.Ticks);
        return (PriorityClass)Math.Min((int)PriorityClass.High, (int)request.Priority + steps);
    }

    private int Compare(QueuedJob a, QueuedJob b, DateTimeOffset now)
    {
        var byClass = EffectiveClass(b.Request, now).CompareTo(EffectiveClass(a.Request, now));
        if (byClass != 0)
        {
            return byClass;
        }

        var byTag = a.StartTag.CompareTo(b.StartTag);
        return byTag != 0 ? byTag : a.Sequence.CompareTo(b.Sequence);
    }

    private void Take(QueuedJob job)
    {
        _jobs.Remove(job.Request.JobId);
        var flow = _flows[job.Request.TenantId];
        flow.Jobs.Remove(job);
        if (flow.Jobs.Count == 0 && flow.LastFinish <= _virtualTime)
        {
            // An idle tenant without debt starts at V anyway: forget it, so the map stays as small as the active set.
            _flows.Remove(job.Request.TenantId);
        }
    }

    private sealed class Flow
    {
        public LinkedList<QueuedJob> Jobs { get; } = new();

        public double LastFinish { get; set; }
    }
}

/// <summary>A job waiting in a <see cref="FairQueue"/>.</summary>
/// <param name="Request">What the job asked for.</param>
/// <param name="StartTag">Its SFQ start tag (virtual tokens per unit of weight).</param>
/// <param name="Sequence">Arrival order, the last tie-breaker.</param>
public sealed record QueuedJob(DispatchRequest Request, double StartTag, long Sequence);
