namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// The waits a dispatcher quotes or weighs, from measured rates: a queued job's expected wait, a refusal's retry-after, and
/// how soon a node works off what it holds (for cost-aware placement).
/// </summary>
internal static class WaitEstimates
{
    /// <summary>Time for <paramref name="perSecond"/> freed slots a second to reach <paramref name="position"/>; null when nothing drains.</summary>
    public static TimeSpan? ExpectedWait(int position, double perSecond) =>
        perSecond > 0 ? TimeSpan.FromSeconds(position / perSecond) : null;

    /// <summary>The mean measured rate (tokens per second) of the nodes that have one; 0 when none has.</summary>
    public static double MeanRate(IEnumerable<NodeSlots> nodes)
    {
        var measured = nodes.Select(n => n.Report?.TokensPerSecond10s ?? 0).Where(r => r > 0).ToList();
        return measured.Count > 0 ? measured.Average() : 0;
    }

    /// <summary>
    /// Time for the node to work off the tokens it holds at its measured rate (or <paramref name="meanRate"/> when it has
    /// none yet), which bounds when its next slot frees; null when no rate is known.
    /// </summary>
    public static TimeSpan? NodeDrain(NodeSlots node, double meanRate)
    {
        var own = node.Report?.TokensPerSecond10s ?? 0;
        var rate = own > 0 ? own : meanRate;
        return rate > 0 ? TimeSpan.FromSeconds(node.OutstandingTokens / rate) : null;
    }

    /// <summary>
    /// Time for <paramref name="perSecond"/> freed slots a second to work off <paramref name="jobs"/> jobs, in whole
    /// seconds, within <paramref name="min"/> and <paramref name="max"/>; <paramref name="max"/> when nothing drains.
    /// </summary>
    public static TimeSpan RetryAfter(int jobs, double perSecond, TimeSpan min, TimeSpan max)
    {
        var seconds = perSecond > 0 ? Math.Ceiling(jobs / perSecond) : max.TotalSeconds;
        var retry = TimeSpan.FromSeconds(seconds);
        return retry < min ? min : retry > max ? max : retry;
    }
}
