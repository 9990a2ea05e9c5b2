using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Serving;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Generation;

/// <summary>
/// A watcher whose watch breaks re-attaches after the last event it received, after pauses of 100 ms doubling up to 2 s,
/// and gives up after a minute without progress.
/// </summary>
public sealed class FollowTests
{
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task A_broken_watch_is_re_attached_after_the_last_event_received()
    {
        var clock = new SleepingClock();
        var log = new ErrorLogCapture(LogLevel.Information);
        var start = clock.GetUtcNow();
        var attaches = new List<(long After, TimeSpan At)>();
        var counted = new List<long>();
        IAsyncEnumerable<JobEvent> Watch(long after, long tokens)
        {
            attaches.Add((after, clock.GetUtcNow() - start));
            counted.Add(tokens);
            return attaches.Count switch
            {
                1 => Events([Text(1)], breakAtEnd: true),
                2 => Events([], breakAtEnd: true),
                // Another activation of the job sends what the watcher has again: it passes on only what is new.
                _ => Events([Text(1), Text(2), Finished(3)], breakAtEnd: false),
            };
        }

        var following = Collect(JobOutput.FollowAsync(Watch, () => Task.FromResult<JobInfo?>(null), "job-1", 0, log.CreateLogger("test"), clock));
        var events = await DriveAsync(clock, following);

        Assert.Equal([1L, 2, 3], events.Select(e => e.Sequence));
        Assert.True(events[^1].Job!.IsFinished);
        // Re-attached after event 1, once after 100 ms and once after a further 200 ms.
        Assert.Equal([(0L, TimeSpan.Zero), (1L, s_step), (1L, 3 * s_step)], attaches);
        // A watcher from the job's start counts the tokens it received, so a re-attached watch sends exactly those it
        // lacks (with their log probabilities), however the new activation cuts its events.
        Assert.Equal([0L, 1, 1], counted);
        Assert.Equal(2, log.Errors.Count(e => e.Contains("Watch of job job-1 broke after event 1; re-attaching", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task It_gives_up_after_a_minute_without_progress()
    {
        var clock = new SleepingClock();
        var start = clock.GetUtcNow();
        var lastAttach = TimeSpan.Zero;
        IAsyncEnumerable<JobEvent> Watch(long after, long tokens)
        {
            lastAttach = clock.GetUtcNow() - start;
            // It resumes from a client's position: what the client received before is not known here.
            Assert.Equal(-1, tokens);
            return Events([], breakAtEnd: true);
        }

        var following = Collect(JobOutput.FollowAsync(Watch, () => Task.FromResult<JobInfo?>(null), "job-2", 5, new ErrorLogCapture().CreateLogger("test"), clock));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => DriveAsync(clock, following));
        Assert.Contains("Job 'job-2' sent no event for 60 s while re-attaching.", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        // The last attempt came after the minute had passed, with pauses of at most 2 s.
        Assert.InRange(lastAttach, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(62));
    }

    [Fact]
    public async Task A_re_attached_watch_that_finds_the_output_gone_ends_with_a_failure_naming_what_it_lacks()
    {
        var clock = new SleepingClock();
        var attaches = 0;
        IAsyncEnumerable<JobEvent> Watch(long after, long tokens) => ++attaches switch
        {
            1 => Events([Text(JobEventSequence.Of(1, 0))], breakAtEnd: true),
            // The job's activation was collected while the client read slowly: the new one, restored from storage
            // without a stream's text, has only the job's end, after its 4 characters.
            _ => Events([Finished(JobEventSequence.Of(4, 1), completionTokens: 4)], breakAtEnd: false),
        };

        var events = await DriveAsync(clock, Collect(JobOutput.FollowAsync(
            Watch, () => Task.FromResult<JobInfo?>(null), "job-1", 0, new ErrorLogCapture().CreateLogger("test"), clock)));

        Assert.Equal([JobEventSequence.Of(1, 0), JobEventSequence.Of(4, 1)], events.Select(e => e.Sequence));
        var end = events[^1].Job!;
        Assert.Equal(JobStatus.Failed, end.Status);
        Assert.Equal(4, end.CompletionTokens);
        Assert.Contains("the last 3 characters of its output were no longer held when the client read on. The job succeeded with 4 tokens", end.Error);
    }

    [Fact]
    public async Task A_re_attached_watch_that_receives_every_token_passes_the_end_on_unchanged()
    {
        var clock = new SleepingClock();
        var attaches = 0;
        IAsyncEnumerable<JobEvent> Watch(long after, long tokens) => ++attaches switch
        {
            1 => Events([Text(JobEventSequence.Of(1, 0))], breakAtEnd: true),

            // The node counted a token that streamed no text (an end of sequence): the text is whole all the same.
            _ => Events([Text(JobEventSequence.Of(2, 0)), Finished(JobEventSequence.Of(2, 1), completionTokens: 3)], breakAtEnd: false),
        };

        var events = await DriveAsync(clock, Collect(JobOutput.FollowAsync(
            Watch, () => Task.FromResult<JobInfo?>(null), "job-1", 0, new ErrorLogCapture().CreateLogger("test"), clock)));

        Assert.Equal(JobStatus.Succeeded, events[^1].Job!.Status);
        Assert.Null(events[^1].Job!.Error);
    }

    private static JobEvent Text(long sequence) => new(sequence, JobEventKind.Tokens, "x", 1, null);

    private static JobEvent Finished(long sequence, int completionTokens = 0) => new(
        sequence, JobEventKind.Status, null, 0,
        new JobInfo { Id = "job-1", TenantId = "t", Model = "m", Status = JobStatus.Succeeded, CompletionTokens = completionTokens });

    /// <summary>The given events, then a failure like a watch cut by a dead silo, or the end.</summary>
    private static async IAsyncEnumerable<JobEvent> Events(JobEvent[] events, bool breakAtEnd)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }

        if (breakAtEnd)
        {
            throw new InvalidOperationException("the silo is gone");
        }
    }

    private static async Task<List<JobEvent>> Collect(IAsyncEnumerable<JobEvent> events)
    {
        var list = new List<JobEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }

    /// <summary>Moves the clock by 100 ms whenever the watcher sleeps, until <paramref name="work"/> ends (10 minutes at most).</summary>
    private static async Task<T> DriveAsync<T>(SleepingClock clock, Task<T> work)
    {
        var end = clock.GetUtcNow().AddMinutes(10);
        while (!work.IsCompleted)
        {
            await Task.WhenAny(clock.UntilSleepingAsync(), work).WaitAsync(TimeSpan.FromSeconds(30));
            if (!work.IsCompleted)
            {
                Assert.True(clock.GetUtcNow() < end, "Still retrying after 10 minutes.");
                clock.Advance(s_step);
            }
        }

        return await work;
    }
}
