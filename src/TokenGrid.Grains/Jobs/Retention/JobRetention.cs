using Microsoft.Extensions.Options;
using Orleans.Serialization;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>
/// What a job's content is and when it goes: the expiry of a finished job (<see cref="JobRetentionOptions"/>), its entry
/// in the <see cref="IJobContentExpiryStore"/>, and the deletion itself, measured (serialized bytes removed) and counted.
/// Used by the job grain (at its end, and for <c>DELETE /v1/jobs/{id}</c>) and by the <see cref="JobContentSweeper"/>.
/// </summary>
public sealed class JobRetention(
    IJobContentExpiryStore store, Serializer serializer, IOptions<JobRetentionOptions> options, TokenGridInstruments instruments)
{
    /// <summary>The store of jobs whose content is still kept.</summary>
    public IJobContentExpiryStore Store => store;

    /// <summary>When the content of a job ended at <paramref name="finishedAt"/> expires: async jobs (which keep their output) by tenant.</summary>
    public DateTimeOffset ExpiresAt(JobSpec? spec, string tenantId, DateTimeOffset finishedAt) =>
        finishedAt + (spec?.KeepOutput == true ? options.Value.AsyncJobsOf(tenantId) : options.Value.StreamedJobs);

    /// <summary>
    /// The finished job of <paramref name="state"/> with its content expiry: as recorded, else counted from its end (from
    /// <paramref name="now"/> for a job that ended before retention existed, which records no end).
    /// </summary>
    public JobInfo WithExpiry(JobState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var info = state.Info ?? throw new ArgumentException("The job has no record.", nameof(state));
        if (info.ContentExpiresAt is not null)
        {
            return info;
        }

        var finishedAt = info.FinishedAt ?? now;
        return info with { FinishedAt = finishedAt, ContentExpiresAt = ExpiresAt(state.Spec, info.TenantId, finishedAt) };
    }

    /// <summary>Records that <paramref name="job"/> (finished, with <see cref="JobInfo.ContentExpiresAt"/>) holds content until then.</summary>
    public Task ScheduleAsync(JobInfo job) => store.ScheduleAsync(new JobContentExpiry(
        job.Id, job.TenantId, job.FinishedAt ?? throw new ArgumentException("The job has not ended.", nameof(job)),
        job.ContentExpiresAt ?? throw new ArgumentException("The job has no content expiry.", nameof(job))));

    /// <summary>
    /// Deletes the content from <paramref name="state"/> (a finished job) and marks its record with
    /// <paramref name="deletion"/>; returns how many bytes of serialized state that removed. Nothing is counted: call
    /// <see cref="Deleted"/> once the state is saved.
    /// </summary>
    public long Erase(JobState state, JobContentDeletion deletion)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(deletion);
        var before = serializer.SerializeToArray(state).Length;
        state.Spec = state.Spec is { } spec ? spec with { PromptTokens = [], Stop = [], User = null } : null;
        state.Info = state.Info is { } info ? info with { Output = null, User = null, ContentDeleted = deletion } : null;
        state.ProducedTokens = [];
        state.Logprobs = [];
        return Math.Max(0, before - serializer.SerializeToArray(state).Length);
    }

    /// <summary>Counts a deletion saved to storage.</summary>
    public void Deleted(JobContentDeletionReason reason, long bytes) => instruments.OnJobContentDeleted(reason, bytes);
}
