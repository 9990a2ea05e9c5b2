namespace TokenGrid.Grains.Scheduling;

/// <summary>Events per second over a sliding window (jobs dispatched, slots freed). Not thread-safe.</summary>
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

    /// <summary>
    /// Starts the measured span at <paramref name="now"/> without an event, when no event started it yet: events that can
    /// only follow something (a run ending after its dispatch) are then measured over the time since that, not over a second.
    /// </summary>
    public void Begin(DateTimeOffset now) => _since ??= now;

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
