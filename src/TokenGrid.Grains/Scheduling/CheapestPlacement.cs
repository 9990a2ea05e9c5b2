using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// Where a job whose tenant prefers the cheapest region should run (<see cref="DispatchRequest.RegionCosts"/>). Only
/// allowed nodes count (<see cref="PlacementPolicy.Allows"/>): the tenant's labels are never relaxed for price. The rule:
/// <list type="number">
/// <item>A node costs what the job's region costs say for its <c>region</c> label (the <c>""</c> entry for a node
/// whose region is not priced apart, or that has no region label).</item>
/// <item>The job takes a free slot on the cheapest allowed nodes, chosen among them as
/// <see cref="PlacementPolicy.Choose"/> does (a running sibling's node, the model loaded, the lowest expected wait…).</item>
/// <item>When every cheaper allowed node is busy and only dearer ones have a free slot, the job waits for a cheaper one
/// while it has waited less than <see cref="DispatchRequest.CheapestMaxExtraWait"/> since
/// <see cref="DispatchRequest.EnqueuedAt"/> and some busy cheaper node is expected to work off what it holds within the
/// rest of that bound (<see cref="WaitEstimates.NodeDrain"/>; a node with no measured rate is given the benefit of the
/// doubt). Otherwise it takes the cheapest node with a free slot.</item>
/// </list>
/// A waiting job holds nothing: the dispatcher skips it for the jobs behind it, which may take the dearer free slots.
/// </summary>
public static class CheapestPlacement
{
    /// <summary>What the job costs on a node of <paramref name="report"/>'s region; <see cref="long.MaxValue"/> when unknown.</summary>
    public static long CostOn(NodeReport report, IReadOnlyDictionary<string, long> costs)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(costs);
        return report.Labels.TryGetValue(DispatchBook.RegionLabel, out var region) && costs.TryGetValue(region, out var cost) ? cost
            : costs.TryGetValue("", out var other) ? other
            : long.MaxValue;
    }

    /// <summary>
    /// The node the job should take now, or null: no allowed node has a free slot, or the job waits for a busy cheaper
    /// one. <paramref name="preferred"/> is a running sibling's node and <paramref name="prefix"/> the job's prompt blocks
    /// (see <see cref="PlacementPolicy.Choose"/>): they only choose among the cheapest nodes, never across prices.
    /// </summary>
    public static NodeSlots? Choose(
        IEnumerable<NodeSlots> nodes, string model, DispatchRequest request, DateTimeOffset now, string? preferred = null, PrefixAffinity? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(request);
        var costs = request.RegionCosts ?? throw new ArgumentException("The job has no region costs.", nameof(request));
        var allowed = new List<(NodeSlots Node, long Cost)>();
        long? cheapestFree = null;
        foreach (var node in nodes)
        {
            if (node.Report is { } report && PlacementPolicy.Allows(report, model, request.RequiredLabels, request.ModelFingerprint))
            {
                var cost = CostOn(report, costs);
                allowed.Add((node, cost));
                if (node.Free > 0 && (cheapestFree is null || cost < cheapestFree))
                {
                    cheapestFree = cost;
                }
            }
        }

        if (cheapestFree is not { } price)
        {
            return null;
        }

        var cheaperBusy = allowed.Where(a => a.Cost < price).Select(a => a.Node).ToList();
        if (cheaperBusy.Count > 0 && WorthWaiting(cheaperBusy, allowed.Select(a => a.Node), request, now))
        {
            return null;
        }

        return PlacementPolicy.Choose(allowed.Where(a => a.Cost == price).Select(a => a.Node), model, request.RequiredLabels, preferred, prefix, request.ModelFingerprint);
    }

    /// <summary>
    /// Whether the job may still wait for one of the <paramref name="cheaper"/> busy nodes: its bound is not spent, and one
    /// of them is expected to drain within what is left of it.
    /// </summary>
    private static bool WorthWaiting(List<NodeSlots> cheaper, IEnumerable<NodeSlots> allowed, DispatchRequest request, DateTimeOffset now)
    {
        var left = request.CheapestMaxExtraWait - (now - request.EnqueuedAt);
        if (left <= TimeSpan.Zero)
        {
            return false;
        }

        var meanRate = WaitEstimates.MeanRate(allowed);
        return cheaper.Any(n => WaitEstimates.NodeDrain(n, meanRate) is not { } drain || drain <= left);
    }
}
