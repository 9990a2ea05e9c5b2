using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

/// <summary>What a job's spec must hold to be submitted, and what the job fixes in it before it is saved.</summary>
public static class JobSubmission
{
    /// <summary>Throws <see cref="ArgumentException"/> (for <c>spec</c>) when the spec cannot make a job.</summary>
    public static void Validate(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var error = string.IsNullOrWhiteSpace(spec.TenantId) ? "The tenant id is empty."
            : string.IsNullOrWhiteSpace(spec.Model) ? "The model is empty."
            : spec.PromptTokens is not { Length: > 0 } ? "The prompt is empty."
            : spec.MaxTokens < 1 ? "max_tokens must be at least 1."
            : null;
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(spec));
        }
    }

    /// <summary>The job <paramref name="jobId"/> as <paramref name="spec"/> submitted it at <paramref name="submittedAt"/>: queued, not yet admitted.</summary>
    public static JobInfo Submitted(string jobId, JobSpec spec, DateTimeOffset submittedAt)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new JobInfo
        {
            Id = jobId,
            TenantId = spec.TenantId,
            Model = spec.Model,
            Status = JobStatus.Queued,
            SubmittedAt = submittedAt,
            PromptTokens = spec.PromptTokens.Length,
            User = spec.User,
        };
    }

    /// <summary>
    /// How long <paramref name="spec"/>'s job submitted at <paramref name="submittedAt"/> may still run at
    /// <paramref name="now"/>: <see cref="Timeout.InfiniteTimeSpan"/> without a timeout, zero once it has passed.
    /// </summary>
    public static TimeSpan TimeLeft(JobSpec spec, DateTimeOffset submittedAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var left = spec.Timeout is { } timeout ? submittedAt + timeout - now : Timeout.InfiniteTimeSpan;
        return left == Timeout.InfiniteTimeSpan || left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>
    /// A sampled job without a seed gets one now, saved with its spec: every run draws from that seed (a resumed run
    /// skips the draws of the tokens already produced), so a job reactivated from a checkpoint behind what a watcher saw
    /// produces again exactly the text the watcher has, and its re-attach receives only the missing text. Drawn per run
    /// instead, the recomputed text after the checkpoint would differ from what was already streamed.
    /// </summary>
    public static JobSpec WithFixedSeed(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Sampling is { Temperature: > 0f, Seed: null }
            ? spec with { Sampling = spec.Sampling with { Seed = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue) } }
            : spec;
    }
}
