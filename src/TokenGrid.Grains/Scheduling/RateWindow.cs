namespace TokenGrid.Grains.Scheduling;

/// <summary>Events per second over a sliding window (jobs dispatched, for the drain rate). Not thread-safe.</summary>
public sealed class RateWindow(TimeSpan window)
{
    private readonly Queue<DateTimeOffset> _events = new();
    private DateTimeOffset? _since;

    /// <summary>Records one event.</summary>
    public void Add(DateTimeOffset now)
    {
        _since ??= now;
        _events.Enqueue(now);
        Trim(now);
    }

    /// <summary>Events per second over the window (or since the first event, when that is more recent); 0 without events.</summary>
    public double Rate(DateTimeOffset now)
    {
        Trim(now);
        if (_events.Count == 0 || _since is not { } since)
        {
            return 0;
        }

        // Measure over at least a second so that a burst right after start does not read as a huge rate.
        var span = Math.Max(1.0, Math.Min(window.TotalSeconds, (now - since).TotalSeconds));
        return _events.Count / span;
    }

    private void Trim(DateTimeOffset now)
    {
        var cutoff = now - window;
        while (_events.TryPeek(out var oldest) && oldest < cutoff)
        {
            _events.Dequeue();
        }
    }
}
