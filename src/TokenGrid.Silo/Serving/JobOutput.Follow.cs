using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Silo.Serving;

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
    public static IAsyncEnumerable<JobEvent> FollowAsync(
        IJobGrain job, long afterSequence, ILogger logger, CancellationToken cancellationToken = default) =>
        FollowAsync(
            (after, tokens) => tokens < 0 ? job.WatchAsync(after) : job.WatchAsync(after, tokens),
            job.GetAsync, job.GetPrimaryKeyString(), afterSequence, logger, TimeProvider.System, cancellationToken);

    /// <summary>
    /// <see cref="FollowAsync(IJobGrain, long, ILogger, CancellationToken)"/> on the job's two calls, with the clock of
    /// the pauses between re-attaching. <paramref name="watch"/> takes the position to watch from and the tokens received
    /// so far, counted from the job's start when <paramref name="afterSequence"/> is 0 (−1 when unknown, for a watcher
    /// resuming from a client's position): a re-attached watch then sends exactly the tokens and log probabilities this
    /// watcher lacks, however the new activation cuts its events.
    /// </summary>
    internal static async IAsyncEnumerable<JobEvent> FollowAsync(
        Func<long, long, IAsyncEnumerable<JobEvent>> watch, Func<Task<JobInfo?>> get, string jobId, long afterSequence, ILogger logger,
        TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var follower = new Follower(watch, get, afterSequence, jobId, logger);
        var reattach = ReattachRetries(time);
        while (true)
        {
            // The common step, an event or the end, needs no pipeline (this runs once per streamed chunk); a broken one
            // enters it as its first attempt.
            var step = await follower.NextAsync(cancellationToken);
            if (step.Kind == StepKind.Broken)
            {
                step = await ReattachAsync(reattach, follower, step, cancellationToken);
            }

            switch (step.Kind)
            {
                case StepKind.Event:
                    if (step.Event is { Kind: JobEventKind.Status, Job: { IsFinished: true } ended })
                    {
                        yield return follower.Lacks(step.Event.Sequence) is { } lost ? step.Event with { Job = OutputLost(ended, lost) } : step.Event;
                        yield break;
                    }

                    yield return step.Event!;

                    break;
                case StepKind.Ended:
                    yield break;
                case StepKind.Broken:
                    throw new TimeoutException($"Job '{jobId}' sent no event for {s_reattachTimeout.TotalSeconds:0} s while re-attaching.", step.Failure);
            }
        }
    }

    /// <summary>
    /// The end of a job whose output this watcher can no longer receive: a failure naming what it lacks, so a stream
    /// ends with an error instead of passing for complete. The job itself is unchanged (and charged as it ran).
    /// </summary>
    private static JobInfo OutputLost(JobInfo ended, long lackingChars) => ended with
    {
        Status = JobStatus.Failed,
        Error = $"The stream fell behind job '{ended.Id}': the last {lackingChars} characters of its output were no longer held when the " +
            $"client read on. The job {ended.Status.ToString().ToLowerInvariant()} with {ended.CompletionTokens} tokens; GET /v1/jobs/{ended.Id} shows what it was charged.",
    };

    /// <summary>
    /// Re-attaches after <paramref name="broken"/>, the step that just broke: one execution of the pipeline whose first
    /// attempt is that step, so its pauses and its minute without progress start at the break and end with the next step
    /// that is not broken. The pipeline is shared; the execution's context carries this watcher to its callbacks.
    /// </summary>
    private static async ValueTask<Step> ReattachAsync(ResiliencePipeline<Step> reattach, Follower follower, Step broken, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(s_followerKey, follower);
            follower.Broke(broken);
            return await reattach.ExecuteAsync(static (c, f) => f.TakeBreak() is { } first ? ValueTask.FromResult(first) : f.NextAsync(c.CancellationToken), context, follower);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The watcher a step of <see cref="ReattachRetries"/> runs for, in the step's context.</summary>
    private static readonly ResiliencePropertyKey<Follower> s_followerKey = new("tokengrid.job-output.follower");

    /// <summary>One pipeline per clock (building one validates its options by reflection: too dear per request).</summary>
    private static readonly ConditionalWeakTable<TimeProvider, ResiliencePipeline<Step>> s_pipelines = [];

    /// <summary>
    /// Re-attaches a broken step after a pause (100 ms, doubling up to 2 s) while the step has been failing for at most
    /// <see cref="s_reattachTimeout"/>. Shared by every watcher on <paramref name="time"/>: the watcher comes with each
    /// step's context (<see cref="s_followerKey"/>).
    /// </summary>
    private static ResiliencePipeline<Step> ReattachRetries(TimeProvider time) => s_pipelines.GetValue(time, static time =>
        new ResiliencePipelineBuilder<Step> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<Step>
            {
                ShouldHandle = args =>
                {
                    if (args.Outcome is not { Exception: null, Result.Kind: StepKind.Broken })
                    {
                        return ValueTask.FromResult(false);
                    }

                    var follower = args.Context.Properties.GetValue(s_followerKey, null!);
                    if (args.AttemptNumber == 0)
                    {
                        follower.FailingSince = time.GetTimestamp();
                    }

                    return ValueTask.FromResult(time.GetElapsedTime(follower.FailingSince) <= s_reattachTimeout);
                },
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(2),
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    var follower = args.Context.Properties.GetValue(s_followerKey, null!);
                    LogReattaching(follower.Logger, args.Outcome.Result.Failure, follower.JobId, follower.Last);
                    return ValueTask.CompletedTask;
                },
            })
            .Build());

    private enum StepKind
    {
        /// <summary>An event to pass on.</summary>
        Event,

        /// <summary>An event this watcher already has (a watch restarted on another activation of the job): progress, nothing to pass on.</summary>
        Replayed,

        /// <summary>The job is unknown, or ended without a final event to pass on.</summary>
        Ended,

        /// <summary>The watch broke, or ended while the job runs: re-attach.</summary>
        Broken,
    }

    private readonly record struct Step(StepKind Kind, JobEvent? Event = null, Exception? Failure = null);

    /// <summary>One watcher's position in the job's events and the watch it reads them from.</summary>
    private sealed class Follower(
        Func<long, long, IAsyncEnumerable<JobEvent>> watch, Func<Task<JobInfo?>> get, long afterSequence, string jobId, ILogger logger) : IAsyncDisposable
    {
        private IAsyncEnumerator<JobEvent>? _events;
        private Step? _break;
        private bool _reattached;

        /// <summary>The characters of text received up to <see cref="Last"/>.</summary>
        private long _textEnd = JobEventSequence.CharsOf(afterSequence);

        public string JobId => jobId;

        public ILogger Logger => logger;

        /// <summary>When the current run of broken steps began (a timestamp of the pipeline's clock).</summary>
        public long FailingSince { get; set; }

        /// <summary>The sequence of the last event passed on.</summary>
        public long Last { get; private set; } = afterSequence;

        /// <summary>Tokens passed on, when this watcher started at the job's start; −1 when it started elsewhere.</summary>
        public long Tokens { get; private set; } = afterSequence == 0 ? 0 : -1;

        /// <summary>Keeps the step that broke, for the re-attaching pipeline's first attempt.</summary>
        public void Broke(Step broken)
        {
            _break = broken;
            _reattached = true;
        }

        /// <summary>
        /// The characters of text before the job's end, at <paramref name="endSequence"/>, that this watcher never
        /// received, or null when it has them all. Sequences are positions in the text, so this is exact. Only a
        /// re-attached watch can lack any: one that found the job's activation gone (collected while the client read too
        /// slowly, its stream keeping no output) gets the final status without the text in between.
        /// </summary>
        public long? Lacks(long endSequence)
        {
            var lacking = JobEventSequence.CharsOf(endSequence) - _textEnd;
            return _reattached && lacking > 0 ? lacking : null;
        }

        /// <summary>The step that broke, once: null after the pipeline's first attempt has taken it.</summary>
        public Step? TakeBreak()
        {
            var broken = _break;
            _break = null;
            return broken;
        }

        /// <summary>The next step, attaching a watch after <see cref="Last"/> first when there is none.</summary>
        public async ValueTask<Step> NextAsync(CancellationToken cancellationToken)
        {
            _events ??= watch(Last, Tokens).GetAsyncEnumerator(cancellationToken);
            var (moved, error) = await TryMoveAsync(_events, cancellationToken);
            if (error is null && moved)
            {
                var current = _events.Current;
                if (current.Sequence <= Last)
                {
                    // Sequences are positions, so skipping replays nothing and loses nothing; the end is still news.
                    if (current is not { Kind: JobEventKind.Status, Job.IsFinished: true })
                    {
                        return new Step(StepKind.Replayed);
                    }

                    current = current with { Sequence = Last + 1 };
                }

                Last = current.Sequence;
                _textEnd = current.Kind == JobEventKind.Tokens ? JobEventSequence.CharsOf(Last) : _textEnd;
                Tokens = Tokens < 0 ? Tokens : Tokens + current.Tokens;
                return new Step(StepKind.Event, current);
            }

            await DisposeAsync();
            if (error is null && await TryGetAsync(get) is var (known, info) && known)
            {
                // The watch ended without a final event: the job is unknown, or ended as the watch was set up.
                if (info is { IsFinished: true })
                {
                    return new Step(StepKind.Event, new JobEvent(Last + 1, JobEventKind.Status, null, 0, info));
                }

                if (info is null)
                {
                    return new Step(StepKind.Ended);
                }
            }

            return new Step(StepKind.Broken, Failure: error);
        }

        public async ValueTask DisposeAsync()
        {
            if (_events is { } events)
            {
                _events = null;
                await DisposeQuietlyAsync(events);
            }
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

    private static async Task<(bool Known, JobInfo? Info)> TryGetAsync(Func<Task<JobInfo?>> get)
    {
        try
        {
            return (true, await get());
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
