using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

// Retention (see JobRetentionOptions): a finished job records when its content expires, forgets the content once that
// passes (the sweep deletes it from storage without activating the job), and deletes it at once when the tenant asks.
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task<JobInfo?> DeleteContentAsync(JobContentDeletionReason reason)
    {
        if (Info is null)
        {
            return null;
        }

        if (!Info.IsFinished)
        {
            // Deleting a running job's content ends it first: cancelled, and settled for what it used.
            await CancelAsync(JobOutcomeReason.CancelledByTenant);
        }

        ForgetContentIfExpired();
        if (Info.ContentDeleted is null)
        {
            var bytes = EraseContent(new JobContentDeletion(reason, timeProvider.GetUtcNow()));
            await WriteAsync();
            retention.Deleted(reason, bytes);
        }

        try
        {
            await retention.Store.RemoveAsync([JobId]);
        }
        catch (Exception e)
        {
            // The content is gone; a sweep finds nothing to delete for the entry and removes it.
            LogExpiryNotRemoved(logger, e, JobId);
        }

        return Info;
    }

    /// <summary>A finished job with content whose expiry is not yet in the store.</summary>
    private bool NeedsContentExpiry => Info is { IsFinished: true, ContentDeleted: null } && !state.State.ContentExpiryScheduled;

    /// <summary>
    /// Records the finished job's content expiry in the store (false when the store could not be reached; the finish
    /// retry tries again). A job that ended before retention existed gets its expiry from its end now.
    /// </summary>
    private async Task<bool> ScheduleContentExpiryAsync()
    {
        if (!NeedsContentExpiry)
        {
            return true;
        }

        var info = Info!;
        if (info.ContentExpiresAt is null)
        {
            var finishedAt = info.FinishedAt ?? timeProvider.GetUtcNow();
            info = info with { FinishedAt = finishedAt, ContentExpiresAt = retention.ExpiresAt(state.State.Spec, info.TenantId, finishedAt) };
            state.State.Info = info;
        }

        try
        {
            await retention.ScheduleAsync(info);
            state.State.ContentExpiryScheduled = true;
            return true;
        }
        catch (Exception e)
        {
            LogExpiryNotScheduled(logger, e, JobId);
            return false;
        }
    }

    /// <summary>
    /// Once the content's expiry has passed, this activation forgets it too, so it answers as storage does after the
    /// sweep (which may not have run yet).
    /// </summary>
    private void ForgetContentIfExpired()
    {
        if (Info is { IsFinished: true, ContentDeleted: null, ContentExpiresAt: { } expiresAt } && expiresAt <= timeProvider.GetUtcNow())
        {
            EraseContent(new JobContentDeletion(JobContentDeletionReason.Expired, expiresAt));
        }
    }

    /// <summary>Deletes the content from the state and from this activation's memory; the bytes of state removed.</summary>
    private long EraseContent(JobContentDeletion deletion)
    {
        var bytes = retention.Erase(state.State, deletion);
        _output.Clear();
        _producedLogprobs.Clear();

        // Only the final status stays in the log (with the content-free job), so a watcher still reading ends at it.
        var final = _events.Count > 0 && IsFinal(_events[^1]) ? _events[^1] : null;
        _events.Clear();
        if (final is not null)
        {
            _events.Add(final with { Job = Info });
        }

        return bytes;
    }

    [LoggerMessage(EventId = 1320, Level = LogLevel.Warning, Message = "Job {JobId} could not record when its content expires; retried")]
    private static partial void LogExpiryNotScheduled(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 1321, Level = LogLevel.Warning, Message = "Job {JobId} deleted its content but not its expiry entry; a sweep removes it")]
    private static partial void LogExpiryNotRemoved(ILogger logger, Exception exception, string jobId);
}
