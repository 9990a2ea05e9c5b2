namespace TokenGrid.Grains.Nodes;

/// <summary>
/// Paces one sequence's chunks: the first goes out at once, and after each chunk the tokens produced within
/// <see cref="NodeOptions.StreamInterval"/> ride the next one. A slow model (a decode step longer than the interval) is
/// relayed token by token as before; a fast one sends a few tokens per message, which divides the per-message cost of
/// every hop behind it (node to job grain, job grain to the HTTP edge, the SSE write) by that many.
/// </summary>
/// <remarks>
/// Pacing is about CPU spent per message, not about business time, so the node gives it the system clock: a test's
/// frozen clock must not hold tokens back.
/// </remarks>
internal sealed class StreamPacer(TimeSpan interval, TimeProvider clock)
{
    private long _lastSent = long.MinValue;

    /// <summary>Whether pacing is on (a positive interval).</summary>
    public bool Enabled => interval > TimeSpan.Zero;

    /// <summary>Records that a chunk just went out.</summary>
    public void OnSent() => _lastSent = clock.GetTimestamp();

    /// <summary>How long the chunk being built may still wait for more tokens: zero when it must go now.</summary>
    public TimeSpan Remaining()
    {
        if (!Enabled || _lastSent == long.MinValue)
        {
            return TimeSpan.Zero;
        }

        var left = interval - clock.GetElapsedTime(_lastSent);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>
    /// Waits for <paramref name="next"/> (the sequence's next token) within what remains of the interval: true when it
    /// came in time (the caller adds it to the chunk), false when the chunk must go now and the read stays pending.
    /// </summary>
    public async ValueTask<bool> WaitAsync(Task<bool> next, CancellationToken cancellationToken)
    {
        var remaining = Remaining();
        if (remaining <= TimeSpan.Zero)
        {
            return next.IsCompleted;
        }

        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var closed = Task.Delay(remaining, clock, window.Token);
        var first = await Task.WhenAny(next, closed);
        if (first == next)
        {
            // Frees the window's timer now rather than when it would have fired.
            await window.CancelAsync();
            return true;
        }

        return next.IsCompleted;
    }
}
