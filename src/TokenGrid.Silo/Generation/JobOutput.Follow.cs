using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Silo.Generation;

internal static partial class JobOutput
{
    /// <summary>How long a watcher keeps re-attaching to a job whose events stopped arriving through failures.</summary>
    private static readonly TimeSpan s_reattachTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The job's events after <paramref name="afterSequence"/> until its final status, followed across silo failures: when
    /// the watch breaks (the silo hosting the job grain died), it re-attaches after the last event received. That call
    /// reactivates the job on a live silo, which resumes it from its checkpoint; sequences are positions in the text, so
    /// the stream continues exactly where this watcher was. Gives up, by throwing, after a minute without progress.
    /// </summary>
    public static async IAsyncEnumerable<JobEvent> FollowAsync(
        IJobGrain job, long afterSequence, ILogger logger, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var last = afterSequence;
        var delay = TimeSpan.FromMilliseconds(100);
        var failingSince = (DateTimeOffset?)null;
        while (true)
        {
            var events = job.WatchAsync(last).GetAsyncEnumerator(cancellationToken);
            Exception? failure = null;
            try
            {
                while (true)
                {
                    var (moved, error) = await TryMoveAsync(events, cancellationToken);
                    if (error is not null || !moved)
                    {
                        failure = error;
                        break;
                    }

                    failingSince = null;
                    var current = events.Current;
                    if (current.Sequence <= last)
                    {
                        // At or before what this watcher has (a watch restarted on another activation of the job):
                        // sequences are positions, so skipping replays nothing and loses nothing; the end is still news.
                        if (current is not { Kind: JobEventKind.Status, Job.IsFinished: true })
                        {
                            continue;
                        }

                        current = current with { Sequence = last + 1 };
                    }

                    last = current.Sequence;
                    yield return current;
                    if (current is { Kind: JobEventKind.Status, Job.IsFinished: true })
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                await DisposeQuietlyAsync(events);
            }

            if (failure is null && await TryGetAsync(job) is var (known, info) && known)
            {
                // The watch ended without a final event: the job is unknown, or ended as the watch was set up.
                if (info is { IsFinished: true })
                {
                    yield return new JobEvent(last + 1, JobEventKind.Status, null, 0, info);
                }

                if (info is null or { IsFinished: true })
                {
                    yield break;
                }
            }

            var now = DateTimeOffset.UtcNow;
            failingSince ??= now;
            if (now - failingSince > s_reattachTimeout)
            {
                throw new TimeoutException($"Job '{job.GetPrimaryKeyString()}' sent no event for {s_reattachTimeout.TotalSeconds:0} s while re-attaching.", failure);
            }

            LogReattaching(logger, failure, job.GetPrimaryKeyString(), last);
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    /// <summary>
    /// The next event, or the failure of the watch. Events of one batch of the job's stream are already here: those
    /// complete without an allocation (this runs once per streamed chunk).
    /// </summary>
    private static ValueTask<(bool Moved, Exception? Error)> TryMoveAsync(IAsyncEnumerator<JobEvent> events, CancellationToken cancellationToken)
    {
        ValueTask<bool> moving;
        try
        {
            moving = events.MoveNextAsync();
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromResult<(bool, Exception?)>((false, e));
        }

        return moving.IsCompletedSuccessfully ? ValueTask.FromResult<(bool, Exception?)>((moving.Result, null)) : AwaitMoveAsync(moving, cancellationToken);
    }

    private static async ValueTask<(bool Moved, Exception? Error)> AwaitMoveAsync(ValueTask<bool> moving, CancellationToken cancellationToken)
    {
        try
        {
            return (await moving, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, e);
        }
    }

    private static async Task<(bool Known, JobInfo? Info)> TryGetAsync(IJobGrain job)
    {
        try
        {
            return (true, await job.GetAsync());
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (false, null);
        }
    }

    private static async ValueTask DisposeQuietlyAsync(IAsyncEnumerator<JobEvent> events)
    {
        try
        {
            await events.DisposeAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The silo that served the watch is gone; there is nothing left to dispose there.
        }
    }
}
