using System.Text;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Silo.Serving;

/// <summary>Reading a job's output for one HTTP request.</summary>
internal static partial class JobOutput
{
    /// <summary>
    /// Cancels <paramref name="job"/> as <see cref="JobOutcomeReason.ClientDisconnected"/> when the client goes away, so
    /// only the tokens produced until then are charged. Dispose it once the reply is complete.
    /// </summary>
    public static IDisposable CancelOnDisconnect(IJobGrain job, HttpContext http) =>
        new DisconnectCancellation(job, http.RequestAborted, http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JobOutput)));

    /// <summary>
    /// The cancellation of one job when its request is aborted. The abort runs the request's callbacks last registered
    /// first, so the reply's own reads, registered later, can unwind it and dispose this registration before its callback
    /// ran: a disposal that finds the request aborted and the job not cancelled cancels it then, so a job whose client
    /// left never runs on to its end and is charged for it.
    /// </summary>
    private sealed class DisconnectCancellation : IDisposable
    {
        private readonly IJobGrain _job;
        private readonly CancellationToken _aborted;
        private readonly ILogger _logger;
        private readonly CancellationTokenRegistration _registration;
        private int _cancelled;

        public DisconnectCancellation(IJobGrain job, CancellationToken aborted, ILogger logger)
        {
            (_job, _aborted, _logger) = (job, aborted, logger);
            _registration = aborted.Register(static state => ((DisconnectCancellation)state!).Cancel(), this);
        }

        public void Dispose()
        {
            // Waits for a callback already running; one not yet run never will, so it is done here.
            _registration.Dispose();
            if (_aborted.IsCancellationRequested)
            {
                Cancel();
            }
        }

        private void Cancel()
        {
            if (Interlocked.Exchange(ref _cancelled, 1) == 0)
            {
                _ = CancelAsync(_job, _logger);
            }
        }
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
