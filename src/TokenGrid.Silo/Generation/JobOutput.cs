using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Generation;

/// <summary>Reading a job's output for one HTTP request.</summary>
internal static partial class JobOutput
{
    /// <summary>
    /// Cancels <paramref name="job"/> as <see cref="JobOutcomeReason.ClientDisconnected"/> when the client goes away, so
    /// only the tokens produced until then are charged. Dispose the registration once the reply is complete.
    /// </summary>
    public static CancellationTokenRegistration CancelOnDisconnect(IJobGrain job, HttpContext http)
    {
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JobOutput));
        return http.RequestAborted.Register(() => _ = CancelAsync(job, logger));
    }

    /// <summary>Collects the text of a job until it ends.</summary>
    public static async Task<(string Text, JobInfo Final)> CollectAsync(IJobGrain job, HttpContext http)
    {
        using var _ = CancelOnDisconnect(job, http);
        var text = new StringBuilder();
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JobOutput));
        await foreach (var @event in FollowAsync(job, 0, logger))
        {
            if (@event is { Kind: JobEventKind.Tokens, Text: { } piece })
            {
                text.Append(piece);
            }
            else if (@event is { Kind: JobEventKind.Status, Job: { IsFinished: true } final })
            {
                return (text.ToString(), final);
            }
        }

        return (text.ToString(), await job.GetAsync() ?? throw new InvalidOperationException("The job disappeared."));
    }

    /// <summary>The problem for a job that ended without succeeding.</summary>
    public static ApiProblem Failure(JobInfo job) => job.Status switch
    {
        JobStatus.Cancelled => new(409, "Job cancelled", job.Error ?? $"Job '{job.Id}' was cancelled.", "job_cancelled"),
        JobStatus.Rejected => JobSubmitter.Rejection(job),
        _ => ApiProblems.Unavailable(job.Error ?? $"Job '{job.Id}' failed."),
    };

    private static async Task CancelAsync(IJobGrain job, ILogger logger)
    {
        try
        {
            await job.CancelAsync(JobOutcomeReason.ClientDisconnected);
        }
        catch (Exception ex)
        {
            LogCancelFailed(logger, ex, job.GetPrimaryKeyString());
        }
    }
}
