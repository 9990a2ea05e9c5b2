using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// When a job asks its dispatcher again after the call failed because a silo was lost: only for failures that pass by
/// themselves once membership has declared the silo dead (about 3.5 s with the tuned probes), with pauses of 0.5, 1, 2
/// and 4 s (7.5 s in all), after which the failure is the job's. Hand-rolled rather than a Polly pipeline: the pause
/// must run on the grain's scheduler with the grain's clock, and four lines say it.
/// </summary>
internal static class EnqueueRetry
{
    /// <summary>Attempts in all, the first included.</summary>
    public const int MaxAttempts = 5;

    /// <summary>Whether a failed attempt (1-based) is worth another.</summary>
    public static bool ShouldRetry(Exception error, int attempt) => attempt < MaxAttempts && IsSiloLost(error);

    /// <summary>Whether a grain call failed because the silo it went to is gone or going (it passes by itself).</summary>
    public static bool IsSiloLost(Exception error) =>
        error is SiloUnavailableException or ConnectionFailedException or OrleansMessageRejectionException;

    /// <summary>The pause after failed attempt <paramref name="attempt"/>.</summary>
    public static TimeSpan Delay(int attempt) => TimeSpan.FromMilliseconds(500 * (1 << (attempt - 1)));

    /// <summary>
    /// Calls <paramref name="call"/>, and again after a failure <see cref="ShouldRetry"/> finds worth another (the silo
    /// the call went to died with it in flight: once membership declares it dead, the callee activates on a survivor),
    /// pausing on <paramref name="time"/>; <paramref name="retrying"/> hears of each failure retried. Awaited on the
    /// caller's scheduler, as a grain's own code is.
    /// </summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> call, Action<Exception, int> retrying, TimeProvider time)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (ShouldRetry(e, attempt))
            {
                retrying(e, attempt);
                await Task.Delay(Delay(attempt), time);
            }
        }
    }
}
