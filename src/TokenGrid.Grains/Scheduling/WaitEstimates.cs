namespace TokenGrid.Grains.Scheduling;

/// <summary>The waits a dispatcher quotes, from the measured drain rate: a queued job's expected wait, a refusal's retry-after.</summary>
internal static class WaitEstimates
{
    /// <summary>Time for <paramref name="perSecond"/> dispatches a second to reach <paramref name="position"/>; null when nothing drains.</summary>
    public static TimeSpan? ExpectedWait(int position, double perSecond) =>
        perSecond > 0 ? TimeSpan.FromSeconds(position / perSecond) : null;

    /// <summary>
    /// Time for <paramref name="perSecond"/> dispatches a second to work off <paramref name="jobs"/> jobs, in whole
    /// seconds, within <paramref name="min"/> and <paramref name="max"/>; <paramref name="max"/> when nothing drains.
    /// </summary>
    public static TimeSpan RetryAfter(int jobs, double perSecond, TimeSpan min, TimeSpan max)
    {
        var seconds = perSecond > 0 ? Math.Ceiling(jobs / perSecond) : max.TotalSeconds;
        var retry = TimeSpan.FromSeconds(seconds);
        return retry < min ? min : retry > max ? max : retry;
    }
}
