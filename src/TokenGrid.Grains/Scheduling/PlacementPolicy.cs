using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// Where a job may run and where it should. Allowed: a live node that is not draining, carries every label the
/// tenant requires, and has the model loaded or loadable. Preferred, among allowed nodes with a free slot: the model
/// already loaded (no load delay), then the highest score = prefill saved by the node's prefix cache
/// (<see cref="PrefixAffinity.Saving"/>; 0 without prefix-aware placement) − expected wait = outstanding tokens /
/// measured tokens per second (nodes not yet measured borrow the mean rate of the others; with no rate at all, the share
/// of busy slots), then fewer running jobs, then the node unused longest, which rotates equal nodes evenly.
/// </summary>
public static class PlacementPolicy
{
    /// <summary>Whether <paramref name="node"/> carries every label in <paramref name="required"/> (same value).</summary>
    public static bool HasLabels(NodeReport node, IReadOnlyDictionary<string, string> required)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(required);
        foreach (var (key, value) in required)
        {
            if (!node.Labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the node has the model loaded or can load it.</summary>
    public static bool Serves(NodeReport node, string model)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Models.Contains(model, StringComparer.Ordinal) || node.LoadableModels.Contains(model, StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether the node serves <paramref name="model"/> from the files whose fingerprint is <paramref name="fingerprint"/>
    /// (<see cref="NodeReport.ModelFingerprints"/>): a job never runs, or goes on, under other weights or another tokenizer
    /// than the ones that tokenized its prompt. True when no fingerprint is asked, and for a node of a release that reports
    /// none.
    /// </summary>
    public static bool HasFingerprint(NodeReport node, string model, string? fingerprint)
    {
        ArgumentNullException.ThrowIfNull(node);
        return fingerprint is null || node.ModelFingerprints.Count == 0
            || (node.ModelFingerprints.TryGetValue(model, out var served) && string.Equals(served, fingerprint, StringComparison.Ordinal));
    }

    /// <summary>Whether the node carries the job's labels and serves its model with the job's fingerprint, draining or not.</summary>
    public static bool Fits(NodeReport node, string model, DispatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Serves(node, model) && HasLabels(node, request.RequiredLabels) && HasFingerprint(node, model, request.ModelFingerprint);
    }

    /// <summary>
    /// Whether a job with <paramref name="required"/> labels (and, when given, the model's <paramref name="fingerprint"/>)
    /// may be placed on the node now.
    /// </summary>
    public static bool Allows(NodeReport node, string model, IReadOnlyDictionary<string, string> required, string? fingerprint = null) =>
        !node.Draining && Serves(node, model) && HasLabels(node, required) && HasFingerprint(node, model, fingerprint);

    /// <summary>
    /// The best allowed node with a free slot, or null. <paramref name="preferred"/>, when allowed and free, wins over
    /// the rest: the node of a running sibling choice, which shares the prompt's cache. <paramref name="prefix"/> scores
    /// the nodes by what their prefix caches would save the job; it only orders allowed nodes, never allows one.
    /// </summary>
    public static NodeSlots? Choose(
        IEnumerable<NodeSlots> nodes, string model, IReadOnlyDictionary<string, string> required, string? preferred = null, PrefixAffinity? prefix = null,
        string? fingerprint = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        List<NodeSlots>? candidates = null;
        foreach (var node in nodes)
        {
            if (node is { Free: > 0, Report: { } report } && Allows(report, model, required, fingerprint))
            {
                (candidates ??= []).Add(node);
            }
        }

        if (candidates is null)
        {
            return null;
        }

        if (candidates.Count == 1)
        {
            return candidates[0];
        }

        if (preferred is not null && candidates.Find(n => string.Equals(n.NodeId, preferred, StringComparison.Ordinal)) is { } sibling)
        {
            return sibling;
        }

        var measured = candidates.Where(n => Rate(n) > 0).Select(Rate).ToList();
        var meanRate = measured.Count > 0 ? measured.Average() : 0;
        NodeSlots? best = null;
        var bestScore = 0.0;
        foreach (var node in candidates)
        {
            var score = (prefix?.Saving(node, model, meanRate) ?? 0) - ExpectedWait(node, meanRate);
            if (best is null || Better(node, score, best, bestScore))
            {
                best = node;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>
    /// Seconds until the node works off what it holds: outstanding tokens over its rate (or <paramref name="meanRate"/>
    /// when it has none yet); without any rate, the share of its slots in use.
    /// </summary>
    public static double ExpectedWait(NodeSlots node, double meanRate)
    {
        ArgumentNullException.ThrowIfNull(node);
        var rate = Rate(node) > 0 ? Rate(node) : meanRate;
        return rate > 0 ? node.OutstandingTokens / rate : (double)node.Running / Math.Max(1, node.Slots);
    }

    private static double Rate(NodeSlots node) => node.Report?.TokensPerSecond10s ?? 0;

    private static bool Better(NodeSlots a, double aScore, NodeSlots b, double bScore)
    {
        if (a.Loaded != b.Loaded)
        {
            return a.Loaded;
        }

        // Scores within a tenth of a millisecond are equal: measured rates jitter, and ties go to the emptier node.
        if (Math.Abs(aScore - bScore) > 1e-4)
        {
            return aScore > bScore;
        }

        return a.Running != b.Running ? a.Running < b.Running
            : a.LastPlacement != b.LastPlacement ? a.LastPlacement < b.LastPlacement
            : string.CompareOrdinal(a.NodeId, b.NodeId) < 0;
    }
}
