using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

/// <summary>What the dispatcher answers a job: its place and expected wait, or a refusal with when to retry.</summary>
public sealed partial class ModelDispatcherGrain
{
    private EnqueueResult Queued(string jobId, DateTimeOffset now)
    {
        var position = _queue.PositionOf(jobId, now);
        return new EnqueueResult { Queued = true, Position = position, ExpectedWait = position == 0 ? TimeSpan.Zero : ExpectedWait(position, now) };
    }

    private EnqueueResult Refuse(DispatchRequest request, SchedulingRejection rejection, string message, TimeSpan? retryAfter)
    {
        LogRefused(logger, request.JobId, Model, rejection, message);
        instruments.OnRejected(Model, rejection.ToCode());
        return new EnqueueResult { Queued = false, Rejection = rejection, Message = message, RetryAfter = retryAfter };
    }

    /// <summary>Time for the measured drain rate to work off <paramref name="jobs"/> jobs, within the configured bounds.</summary>
    private TimeSpan RetryAfter(int jobs, double perSecond)
    {
        var seconds = perSecond > 0 ? Math.Ceiling(jobs / perSecond) : Options.MaxRetryAfter.TotalSeconds;
        var retry = TimeSpan.FromSeconds(seconds);
        return retry < Options.MinRetryAfter ? Options.MinRetryAfter : retry > Options.MaxRetryAfter ? Options.MaxRetryAfter : retry;
    }

    private TimeSpan? ExpectedWait(int position, DateTimeOffset now)
    {
        var rate = _drain.Rate(now);
        return rate > 0 ? TimeSpan.FromSeconds(position / rate) : null;
    }
}
