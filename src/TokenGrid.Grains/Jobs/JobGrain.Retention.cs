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

    /// <summary>
    /// Records the finished job's content expiry in the store (false when the store could not be reached; the finish
    /// retry tries again). A job that ended before retention existed gets its expiry from its end now.
    /// </summary>
    private async Task<bool> ScheduleContentExpiryAsync()
    {
        if (!JobSettlement.NeedsContentExpiry(state.State))
        {
            return true;
        }

        var info = state.State.Info = retention.WithExpiry(state.State, timeProvider.GetUtcNow());
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
        Progress.Erase();
        _checkpoints.EraseLogprobs();

        _log.Erase(Info);
        return bytes;
    }
}
