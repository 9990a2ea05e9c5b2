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
    /// Waits out what remains of the interval, once per chunk: the tokens the sequence produces meanwhile are read when
    /// it ends, not one wake-up each. Ends early when <paramref name="ended"/> (the sequence's completion) completes or
    /// the sequence is cancelled, so neither the last tokens nor a cancellation wait for the window.
    /// </summary>
    public async ValueTask WaitAsync(Task ended, CancellationToken cancellationToken)
    {
        var remaining = Remaining();
        if (remaining <= TimeSpan.Zero || ended.IsCompleted || cancellationToken.IsCancellationRequested)
        {
            return;
        }

        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var closed = Task.Delay(remaining, clock, window.Token);
        if (await Task.WhenAny(ended, closed) == ended)
        {
            // Frees the window's timer now rather than when it would have fired.
            await window.CancelAsync();
        }
    }
}
