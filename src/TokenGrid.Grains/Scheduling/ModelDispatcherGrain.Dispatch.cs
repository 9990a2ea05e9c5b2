using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Scheduling;

public sealed partial class ModelDispatcherGrain
{
    /// <summary>
    /// Fills free slots: the best waiting job (class, then fair share) that an allowed node has room for goes to the
    /// best such node; a job no free slot may take is skipped for the next one, so constrained tenants never block the
    /// rest. When nothing fits, a waiting High job may preempt a Low one.
    /// </summary>
    private void Dispatch(DateTimeOffset now)
    {
        while (_queue.Count > 0)
        {
            var placed = false;
            foreach (var head in _queue.Heads(now))
            {
                if (PlacementPolicy.Choose(_nodes.Values, Model, head.Request.RequiredLabels, SiblingNode(head.Request)) is { } node)
                {
                    Start(head, node, now);
                    placed = true;
                    break;
                }
            }

            // A preemption places the job it made room for itself, so the freed slot cannot go to another.
            if (!placed && !TryPreempt(now))
            {
                break;
            }
        }

        instruments.OnQueueDepth(Model, _queue.Count);
    }

    private void Start(QueuedJob job, NodeSlots node, DateTimeOffset now, bool inOrder = true)
    {
        var request = job.Request;
        _queue.Dispatch(job, inOrder);
        node.Place(request.JobId, request.Cost);
        _running[request.JobId] = new RunningJob(request, node.NodeId, now, job.StartTag);
        var tenant = Tenant(request);
        tenant.Running++;
        tenant.Dispatched++;
        tenant.Dispatches.Add(now);
        _drain.Add(now);
        if (!request.Resumed)
        {
            instruments.OnDispatched(Model, now - request.EnqueuedAt);
        }

        LogDispatched(logger, request.JobId, Model, node.NodeId, request.TenantId);

        // One-way: the job starts generating on its own; it releases the slot when it ends.
        GrainFactory.GetGrain<IJobGrain>(request.JobId).StartOnNodeAsync(node.NodeId, Model).Ignore();
    }

    /// <summary>The node of a running choice of the same <c>n</c> &gt; 1 request, where the job would fork from its prompt.</summary>
    private string? SiblingNode(DispatchRequest request) => request.AffinityKey is { } key
        ? _running.Values.FirstOrDefault(r => string.Equals(r.Request.AffinityKey, key, StringComparison.Ordinal))?.NodeId
        : null;

    /// <summary>
    /// Reloads the nodes that serve this model from the registry. A node whose silo left the cluster is lost with its
    /// slots (its jobs are told to recover); any other node gone keeps its running jobs' slots until they are released.
    /// </summary>
    private async Task RefreshNodesAsync()
    {
        IReadOnlyList<NodeReport> reports;
        try
        {
            reports = await GrainFactory.GetGrain<INodeRegistryGrain>(0).ListAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRefreshFailed(logger, e, Model);
            return;
        }

        _refreshedAt = timeProvider.GetUtcNow();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var report in reports)
        {
            if (!PlacementPolicy.Serves(report, Model))
            {
                continue;
            }

            seen.Add(report.NodeId);
            if (!_nodes.TryGetValue(report.NodeId, out var node))
            {
                _nodes[report.NodeId] = node = new NodeSlots(report.NodeId);
            }

            node.Update(report, Model, SlotsFor(report));
        }

        foreach (var node in _nodes.Values.Where(n => !seen.Contains(n.NodeId)).ToList())
        {
            if (membership.IsNodeGone(node.NodeId))
            {
                LoseNode(node);
                continue;
            }

            // A registry that just moved (its silo died) has not heard from every node yet: a node whose silo is alive
            // keeps its last report until that would have expired anyway.
            if (node.Report is { } last && last.ReportedAt >= _refreshedAt - nodeOptions.Value.ReportLifetime)
            {
                continue;
            }

            node.Report = null;
            if (node.Running == 0)
            {
                _nodes.Remove(node.NodeId);
            }
        }
    }

    /// <summary>The node's batch size for one model: configured, or the report's capacity over its loaded engines.</summary>
    private int SlotsFor(NodeReport report) =>
        Options.SlotsPerNode > 0 ? Options.SlotsPerNode : Math.Max(1, report.MaxBatchSize / Math.Max(1, report.Models.Length));

    /// <summary>Whether any live node (draining ones too: they come back) serves the model with the job's labels.</summary>
    private bool AnyKnownNodeMayRun(DispatchRequest request) =>
        _nodes.Values.Any(n => n.Report is { } r && PlacementPolicy.HasLabels(r, request.RequiredLabels));

    private string NoNodeMessage(DispatchRequest request) =>
        request.RequiredLabels.Count == 0 || !_nodes.Values.Any(n => n.Report is not null)
            ? $"No node serves model '{Model}'."
            : $"No node with the labels {string.Join(", ", request.RequiredLabels.Select(l => $"{l.Key}={l.Value}"))} serves model '{Model}'; the job was not placed elsewhere.";
}
