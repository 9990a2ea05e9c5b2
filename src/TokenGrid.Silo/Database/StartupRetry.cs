using Polly;
using Polly.Retry;

namespace TokenGrid.Silo.Database;

/// <summary>
/// The start-up retries of <see cref="DatabaseOptions"/> as Polly retry options, shared by the database wait and the
/// demo tenant's provisioning: pauses start at <see cref="DatabaseOptions.StartupRetryDelay"/> and double up to
/// <see cref="DatabaseOptions.StartupRetryMaxDelay"/>, without jitter. Attempts are not counted: each caller bounds them
/// by <see cref="DatabaseOptions.StartupRetryTimeout"/> in its <c>ShouldHandle</c>.
/// </summary>
internal static class StartupRetry
{
    /// <summary>Retry options with the pauses of <paramref name="database"/>; the caller sets what is handled and logged.</summary>
    public static RetryStrategyOptions Options(DatabaseOptions database) => new()
    {
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = false,
        Delay = database.StartupRetryDelay,
        MaxDelay = database.StartupRetryMaxDelay,
        MaxRetryAttempts = int.MaxValue,
    };

    /// <summary>
    /// The pause the retry takes after failed attempt <paramref name="attemptNumber"/> (0 for the first), for a caller
    /// that weighs it against its deadline before it is taken.
    /// </summary>
    public static TimeSpan Pause(DatabaseOptions database, int attemptNumber)
    {
        var ticks = Math.Pow(2, attemptNumber) * database.StartupRetryDelay.Ticks;
        return ticks >= database.StartupRetryMaxDelay.Ticks ? database.StartupRetryMaxDelay : TimeSpan.FromTicks((long)ticks);
    }
}
