using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Scheduling;

public sealed partial class ModelDispatcherGrain
{
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
    private bool TryPreempt(DateTimeOffset now)
    {
        if (!Options.Preemption || _running.Count == 0)
        {
            return false;
        }

        foreach (var head in _queue.Heads(now))
        {
            var request = head.Request;
            var headClass = _queue.EffectiveClass(request, now);
            RunningJob? victim = null;
            var reason = "priority";
            if (request.Priority == PriorityClass.High)
            {
                victim = Youngest(request, run => _queue.EffectiveClass(run.Request, now) == PriorityClass.Low);
            }

            // Only a tenant that just became active (this one job, nothing running) preempts for its share: a
            // backlogged tenant is served by the fair queue alone. And only a victim whose virtual service the job
            // overlaps (it starts before the victim finishes, in virtual time) loses its slot.
            if (victim is null && Options.FairSharePreemption && _queue.CountFor(request.TenantId) == 1 && BelowShare(request))
            {
                reason = "fair_share";
                victim = Youngest(request, run => head.StartTag < run.StartTag + ((double)run.Request.Cost / Math.Max(1, run.Request.Weight))
                    && _queue.EffectiveClass(run.Request, now) <= headClass && AboveShare(run.Request));
            }

            if (victim is not null)
            {
                Preempt(victim, request.JobId);
                instruments.OnPreempted(Model, reason);
                Start(head, _nodes[victim.NodeId], now, inOrder: false);
                return true;
            }
        }

        return false;
    }

    private void Preempt(RunningJob victim, string forJobId)
    {
        var jobId = victim.Request.JobId;
        _running.Remove(jobId);
        _nodes[victim.NodeId].Release(jobId);
        _preempting[jobId] = victim.Request;
        var tenant = Tenant(victim.Request);
        tenant.Running = Math.Max(0, tenant.Running - 1);
        _preemptions++;
        LogPreempted(logger, jobId, Model, victim.NodeId, forJobId);
        GrainFactory.GetGrain<IJobGrain>(jobId).PreemptAsync().Ignore();
    }

    /// <summary>The preemptible running job matching <paramref name="eligible"/> that started last on a node <paramref name="waiting"/> may use.</summary>
    private RunningJob? Youngest(DispatchRequest waiting, Func<RunningJob, bool> eligible)
    {
        RunningJob? youngest = null;
        foreach (var run in _running.Values)
        {
            if (run.Request.Preemptible && (youngest is null || run.StartedAt > youngest.StartedAt)
                && _nodes.TryGetValue(run.NodeId, out var node) && node.Report is { } report
                && PlacementPolicy.Allows(report, Model, waiting.RequiredLabels) && eligible(run))
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
        var slots = _nodes.Values.Where(n => n.Report is { } r && PlacementPolicy.Allows(r, Model, request.RequiredLabels)).Sum(n => n.Slots);
        var totalWeight = _tenants.Where(t => t.Value.Running > 0 || _queue.CountFor(t.Key) > 0).Sum(t => (double)t.Value.Weight);
        return totalWeight <= 0 ? slots : slots * Math.Max(1, request.Weight) / totalWeight;
    }
}
