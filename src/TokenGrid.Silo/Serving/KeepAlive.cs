namespace TokenGrid.Silo.Serving;

/// <summary>
/// Waits for an event stream's next event and, while there is none, keeps the connection busy: a client's read timeout
/// or a proxy that cuts idle connections would otherwise end a stream whose job waits in the queue.
/// </summary>
internal static class KeepAlive
{
    /// <summary>
    /// The result of <paramref name="pending"/>, the read of the next event. While it is pending, <paramref name="beat"/>
    /// runs once <paramref name="first"/> has passed (at once when it is not positive) and then every <paramref name="interval"/>. A read that is already
    /// complete (the rest of a batch) is returned as is, without a timer or an allocation.
    /// </summary>
    /// <remarks>
    /// When a beat fails (the client left), the read is awaited before the failure propagates, so the caller never
    /// disposes its enumerator mid-read.
    /// </remarks>
    public static ValueTask<T> WaitAsync<T>(ValueTask<T> pending, TimeSpan first, TimeSpan interval, Func<Task> beat, TimeProvider time) =>
        pending.IsCompleted ? pending : new ValueTask<T>(BeatWhilePendingAsync(pending.AsTask(), first, interval, beat, time));

    private static async Task<T> BeatWhilePendingAsync<T>(Task<T> pending, TimeSpan first, TimeSpan interval, Func<Task> beat, TimeProvider time)
    {
        var due = first > TimeSpan.Zero ? first : TimeSpan.Zero;
        while (true)
        {
            try
            {
                return await pending.WaitAsync(due, time);
            }
            catch (TimeoutException) when (!pending.IsCompleted)
            {
                // Nothing came within the interval: beat, then wait again.
            }

            try
            {
                await beat();
            }
            catch
            {
                await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }

            due = interval;
        }
    }
}
