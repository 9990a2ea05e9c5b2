using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// Silo failures as the dispatcher sees them: a node whose silo died loses its slots and its jobs are told to recover (a
/// job grain that died with the silo reactivates elsewhere from its checkpoint and queues again); after the dispatcher's
/// own silo died, running jobs adopt their slots in the new activation and waiting ones enqueue again.
/// </summary>
public sealed partial class ModelDispatcherGrain
{
    /// <inheritdoc />
    public Task AdoptAsync(DispatchRequest request, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_queue.Contains(request.JobId) || _running.ContainsKey(request.JobId) || _preempting.ContainsKey(request.JobId)
            || membership.IsNodeGone(nodeId) || !_nodes.TryGetValue(nodeId, out var node))
        {
            return Task.CompletedTask;
        }

        var now = timeProvider.GetUtcNow();
        node.Place(request.JobId, request.Cost);
        _running[request.JobId] = new RunningJob(request, nodeId, now, StartTag: 0);
        Tenant(request).Running++;
        LogAdopted(logger, request.JobId, Model, nodeId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task NodeUnreachableAsync(string nodeId)
    {
        if (_nodes.TryGetValue(nodeId, out var node) && node.UnreachableAfter is null)
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
        foreach (var (jobId, tenantId) in _running.Select(r => (r.Key, r.Value.Request.TenantId)).Concat(_queue.Jobs.Select(q => (q.Request.JobId, q.Request.TenantId))).ToList())
        {
            GrainFactory.GetGrain<IJobGrain>(jobId).RecoverAsync(tenantId, Model).Ignore();
        }

        return Task.CompletedTask;
    }

    /// <summary>Frees the slots of a node whose silo left the cluster and tells each of its jobs to recover, one-way.</summary>
    private void LoseNode(NodeSlots node)
    {
        var jobs = node.Jobs.ToList();
        foreach (var jobId in jobs)
        {
            node.Release(jobId);
            if (_running.Remove(jobId, out var run))
            {
                Account(run.Request, 0, wasRunning: true);
                GrainFactory.GetGrain<IJobGrain>(jobId).RecoverAsync(run.Request.TenantId, Model).Ignore();
            }
        }

        _nodes.Remove(node.NodeId);
        LogNodeLost(logger, node.NodeId, Model, jobs.Count);
    }

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Node {NodeId} left with its silo; the dispatcher of model {Model} told its {Jobs} running jobs to recover")]
    private static partial void LogNodeLost(ILogger logger, string nodeId, string model, int jobs);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning,
        Message = "Node {NodeId} could not be reached by a job (its silo is gone as another silo sees it); the dispatcher of model {Model} places nothing there until it reports again")]
    private static partial void LogNodeUnreachable(ILogger logger, string nodeId, string model);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Job {JobId} running on {NodeId} adopted by the dispatcher of model {Model}")]
    private static partial void LogAdopted(ILogger logger, string jobId, string model, string nodeId);
}
