namespace TokenGrid.Grains.Nodes;

/// <summary>
/// Tokens per second over sliding windows, from samples of a monotonic token counter. Keeps samples for
/// <c>horizon</c> plus the one just before it, so a window as long as the horizon is always covered. Not thread-safe.
/// </summary>
internal sealed class ThroughputWindow(TimeSpan horizon)
{
    private readonly Queue<(DateTimeOffset At, long Tokens)> _samples = new();

    /// <summary>Records the counter's value at <paramref name="at"/> (times must not go back).</summary>
    public void Add(DateTimeOffset at, long tokens)
    {
        _samples.Enqueue((at, tokens));
        while (_samples.Count > 2 && _samples.ElementAt(1).At <= at - horizon)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>
    /// The rate between the oldest sample inside <paramref name="window"/> and the counter now; over the time since
    /// the first sample when that is shorter than the window. Zero without an earlier sample.
    /// </summary>
    public double Rate(DateTimeOffset now, long tokensNow, TimeSpan window)
    {
        var (increase, seconds) = Growth(now, tokensNow, window);
        return seconds > 0 ? increase / seconds : 0;
    }

    /// <summary>
    /// What <see cref="Rate"/> divides: the counter's growth since the oldest sample inside <paramref name="window"/>
    /// and the seconds since that sample; (0, 0) without an earlier sample. Two windows sampled at the same times share
    /// the seconds, so the ratio of their growths is exact where a ratio of their rates would round twice.
    /// </summary>
    public (long Increase, double Seconds) Growth(DateTimeOffset now, long tokensNow, TimeSpan window)
    {
        var from = now - window;
        foreach (var (at, tokens) in _samples)
        {
            if (at >= from)
            {
                return (Math.Max(0, tokensNow - tokens), (now - at).TotalSeconds);
            }
        }

        return (0, 0);
    }
}
