namespace TokenGrid.Grains.Tenants;

/// <summary>
/// How long a tenant's latest jobs ran, from admission to settlement, and the wait a refusal for the concurrency limit
/// quotes from them. Kept in memory only: a new activation starts with none and quotes <see cref="Unmeasured"/> until
/// its first job ends.
/// </summary>
internal sealed class JobDurations
{
    /// <summary>How many of the latest durations are kept.</summary>
    public const int Kept = 32;

    /// <summary>The wait quoted before any job has ended in this activation.</summary>
    public static readonly TimeSpan Unmeasured = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The shortest wait quoted, as the scheduler's shortest <c>Retry-After</c>: the node and Python SDKs follow
    /// <c>retry-after-ms</c> exactly with two retries by default, so a shorter wait would spend them in well under their
    /// own backoff's second or so, mostly to be refused again.
    /// </summary>
    public static readonly TimeSpan Shortest = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait quoted. The OpenAI SDKs follow a retry-after below a minute and fall back to their own backoff
    /// above it, and jobs longer than that are rare enough that retrying sooner costs little.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(59);

    private readonly Queue<TimeSpan> _latest = new();

    /// <summary>
    /// Records a job that ran for <paramref name="duration"/>. Only jobs that ran to their end (completed or timed out)
    /// are recorded by the caller, and a duration that is not positive (clocks of two silos apart) is skipped: jobs
    /// refused by the scheduler or cancelled while queued end at once and would say nothing of how long a job runs.
    /// </summary>
    public void Add(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        _latest.Enqueue(duration);
        if (_latest.Count > Kept)
        {
            _latest.Dequeue();
        }
    }

    /// <summary>The median of the latest durations, or null when none is kept.</summary>
    public TimeSpan? Typical()
    {
        if (_latest.Count == 0)
        {
            return null;
        }

        var sorted = _latest.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>
    /// When <paramref name="needed"/> of the <paramref name="open"/> jobs (admitted at the given times) are expected to
    /// have ended: each is expected to run as long as the typical latest job, so the one expected to end
    /// <paramref name="needed"/>-th sets the wait, within <see cref="Shortest"/> and <see cref="Longest"/>.
    /// <see cref="Unmeasured"/> when no job has ended yet.
    /// </summary>
    public TimeSpan RetryAfter(IEnumerable<DateTimeOffset> open, int needed, DateTimeOffset now)
    {
        if (Typical() is not { } typical)
        {
            return Unmeasured;
        }

        var remaining = open.Select(admitted => typical - (now - admitted)).Order().ToArray();
        var wait = remaining.Length == 0 ? typical : remaining[Math.Clamp(needed, 1, remaining.Length) - 1];
        return wait < Shortest ? Shortest : wait > Longest ? Longest : wait;
    }
}
