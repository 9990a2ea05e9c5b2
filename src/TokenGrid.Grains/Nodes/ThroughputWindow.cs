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
        var from = now - window;
        foreach (var (at, tokens) in _samples)
        {
            if (at >= from)
            {
                var seconds = (now - at).TotalSeconds;
                return seconds > 0 ? Math.Max(0, tokensNow - tokens) / seconds : 0;
            }
        }

        return 0;
    }
}
