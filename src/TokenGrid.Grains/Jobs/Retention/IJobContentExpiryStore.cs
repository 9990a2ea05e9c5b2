namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>A finished job whose content is still stored, and when it is due for deletion.</summary>
/// <param name="JobId">The job.</param>
/// <param name="TenantId">Its tenant.</param>
/// <param name="FinishedAt">When it ended (the content's age counts from here).</param>
/// <param name="ExpiresAt">When its content is deleted.</param>
public sealed record JobContentExpiry(string JobId, string TenantId, DateTimeOffset FinishedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// The finished jobs whose content is still in grain storage, by expiry, so a sweep finds what is due without reading
/// (or activating) every job. A job is added when it ends and removed once its content is deleted. A claim keeps other
/// sweepers (on other silos) off a due entry for a while; an entry whose sweeper died is claimed again after that.
/// </summary>
public interface IJobContentExpiryStore
{
    /// <summary>Adds or replaces the job's entry (unclaimed).</summary>
    Task ScheduleAsync(JobContentExpiry expiry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> entries due at <paramref name="now"/> and not claimed (or whose claim ran out),
    /// earliest expiry first, each claimed until <paramref name="claimedUntil"/>.
    /// </summary>
    Task<IReadOnlyList<JobContentExpiry>> ClaimDueAsync(DateTimeOffset now, int limit, DateTimeOffset claimedUntil, CancellationToken cancellationToken = default);

    /// <summary>Removes the entries of <paramref name="jobIds"/> (unknown ids are ignored).</summary>
    Task RemoveAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default);

    /// <summary>When the job that ended first among those still holding content ended, or null when there is none.</summary>
    Task<DateTimeOffset?> OldestFinishedAtAsync(CancellationToken cancellationToken = default);
}
