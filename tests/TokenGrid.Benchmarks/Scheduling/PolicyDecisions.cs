using System.Diagnostics;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Benchmarks.Scheduling;

/// <summary>The dispatcher's decision alone: pick the next of the queued jobs and its node, with no grain involved.</summary>
public static class PolicyDecisions
{
    /// <summary>Decisions per second while the queue drains from <paramref name="jobs"/> jobs over <paramref name="nodes"/> nodes of 4 slots.</summary>
    public static double Rate(int jobs, int nodes, int tenants)
    {
        var now = DateTimeOffset.UtcNow;
        var queue = new FairQueue(TimeSpan.FromSeconds(30));
        for (var i = 0; i < jobs; i++)
        {
            queue.Enqueue(new DispatchRequest
            {
                JobId = $"j{i}",
                TenantId = $"tenant-{i % tenants}",
                Priority = (PriorityClass)(i % 3),
                Weight = 1 + (i % tenants % 4),
                PromptTokens = 20 + (i % 50),
                MaxTokens = 40 + (i % 200),
                EnqueuedAt = now,
            });
        }

        var slots = Enumerable.Range(0, nodes).Select(n => new NodeSlots($"n{n}")).ToList();
        foreach (var (node, n) in slots.Select((node, n) => (node, n)))
        {
            node.Update(new NodeReport { NodeId = node.NodeId, Silo = "b", Device = $"gpu{n}", Provider = "Cuda", Models = ["m"], MaxBatchSize = 4, TokensPerSecond10s = 1000 }, "m", 4);
        }

        var running = new Queue<(NodeSlots Node, string JobId)>();
        var clock = Stopwatch.StartNew();
        while (queue.Count > 0)
        {
            var head = queue.Heads(now)[0];
            var node = PlacementPolicy.Choose(slots, "m", head.Request.RequiredLabels);
            if (node is null)
            {
                // Every slot is busy: the oldest run ends, as a release would.
                var (busy, jobId) = running.Dequeue();
                busy.Release(jobId);
                continue;
            }

            queue.Dispatch(head);
            node.Place(head.Request.JobId, head.Request.Cost);
            running.Enqueue((node, head.Request.JobId));
        }

        return jobs / clock.Elapsed.TotalSeconds;
    }
}
