using System.Text;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Silo.Serving;

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

    /// <summary>Collects the text of a job, and the log probabilities of its tokens when it reports them, until it ends.</summary>
    public static async Task<(string Text, JobInfo Final, List<TokenLogprob> Logprobs)> CollectAsync(IJobGrain job, HttpContext http)
    {
        using var _ = CancelOnDisconnect(job, http);
        var text = new StringBuilder();
        var logprobs = new List<TokenLogprob>();
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JobOutput));
        await foreach (var @event in FollowAsync(job, 0, logger))
        {
            if (@event.Kind == JobEventKind.Tokens)
            {
                text.Append(@event.Text);
                logprobs.AddRange(@event.Logprobs ?? []);
            }
            else if (@event is { Kind: JobEventKind.Status, Job: { IsFinished: true } final })
            {
                return (text.ToString(), final, logprobs);
            }
        }

        return (text.ToString(), await job.GetAsync() ?? throw new InvalidOperationException("The job disappeared."), logprobs);
    }

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
