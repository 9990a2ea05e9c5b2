using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// The job's event log on its own: what a watcher at a given position receives, and how the log of a new activation
/// starts from what the last one streamed.
/// </summary>
public sealed class JobEventLogTests
{
    private static readonly JobInfo Queued = new() { Id = "j", TenantId = "t", Model = "m", Status = JobStatus.Queued };
    private static readonly JobInfo Running = Queued with { Status = JobStatus.Running };
    private static readonly JobInfo Succeeded = Queued with { Status = JobStatus.Succeeded };

    [Fact]
    public async Task A_watcher_after_sequence_k_receives_only_the_later_events()
    {
        var log = new JobEventLog();
        log.AppendStatus(Running);
        log.AppendTokens("Hello", 1, null);
        log.AppendTokens(" world", 1, null);
        log.AppendStatus(Succeeded, log.FinalSequence);
        var all = await ReadAllAsync(log, 0);
        Assert.Equal(4, all.Count);
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence));

        var later = await ReadAllAsync(log, all[1].Sequence);

        Assert.Equal(all.Skip(2), later);
        Assert.Equal(" world", later[0].Text);
        Assert.Equal(JobStatus.Succeeded, later[1].Job!.Status);
    }

    [Fact]
    public async Task Text_is_cut_at_the_character_the_watcher_has_seen()
    {
        var log = new JobEventLog();
        log.AppendTokens("Hello world", 2, [new TokenLogprob(1, -0.5f, []), new TokenLogprob(2, -0.25f, [])]);
        log.AppendStatus(Succeeded, log.FinalSequence);

        // A watcher that saw "Hello" (from an earlier activation whose events were cut differently).
        var events = await ReadAllAsync(log, JobEventSequence.Of("Hello".Length, 0));

        Assert.Equal(2, events.Count);
        Assert.Equal(" world", events[0].Text);
        Assert.Equal(0, events[0].Tokens);
        Assert.Null(events[0].Logprobs);
        Assert.Equal(JobEventSequence.Of("Hello world".Length, 0), events[0].Sequence);
    }

    [Fact]
    public async Task A_watcher_that_counts_its_tokens_keeps_the_log_probabilities_of_those_it_lacks_in_an_event_it_is_in_the_middle_of()
    {
        // A new activation restored five tokens of text as one event; the watcher had received "Hello" as two tokens.
        var log = new JobEventLog();
        var logprobs = Logprobs(5);
        log.Restore("Hello world, all", 5, logprobs);
        log.AppendTokens("!", 1, Logprobs(1, from: 5));
        log.AppendStatus(Succeeded, log.FinalSequence);

        var events = await ReadAllAsync(log, JobEventSequence.Of("Hello".Length, 0), afterTokens: 2);

        Assert.Equal(3, events.Count);
        Assert.Equal((" world, all", 3), (events[0].Text, events[0].Tokens));
        Assert.Equal(logprobs[2..], events[0].Logprobs);
        Assert.Equal(("!", 1, 5), (events[1].Text, events[1].Tokens, events[1].Logprobs![0].TokenId));
        Assert.True(events[2].Job!.IsFinished);

        // Without the count the log cannot tell which tokens the watcher has: the cut event carries none.
        var uncounted = await ReadAllAsync(log, JobEventSequence.Of("Hello".Length, 0));
        Assert.Equal((" world, all", 0), (uncounted[0].Text, uncounted[0].Tokens));
        Assert.Null(uncounted[0].Logprobs);
    }

    [Fact]
    public async Task Tokens_whose_text_the_watcher_has_but_not_the_tokens_come_with_the_next_event_sent()
    {
        // The activation the watcher read held a token's text back ("Hel" + "lo" came as one event of one token, then
        // one of no text), this one released it at once: the watcher has the text of token 2 but not token 2 itself.
        var log = new JobEventLog();
        log.AppendTokens("Hel", 1, Logprobs(1));
        log.AppendTokens("lo", 1, Logprobs(1, from: 1));
        log.AppendTokens(" there", 1, Logprobs(1, from: 2));
        log.AppendStatus(Succeeded, log.FinalSequence);

        var events = await ReadAllAsync(log, JobEventSequence.Of("Hello".Length, 0), afterTokens: 1);

        Assert.Equal((" there", 2), (events[0].Text, events[0].Tokens));
        Assert.Equal([1, 2], events[0].Logprobs!.Select(l => l.TokenId));
        Assert.Equal(2, events.Count);
    }

    [Fact]
    public async Task Lacking_tokens_with_no_text_left_to_send_come_on_their_own_before_the_final_event()
    {
        var log = new JobEventLog();
        log.AppendTokens("Hello", 2, Logprobs(2));
        log.AppendStatus(Succeeded, log.FinalSequence);

        // A watcher that has all of the text but only the first token; and one past the end of the text.
        var at = JobEventSequence.Of("Hello".Length, 0);
        var events = await ReadAllAsync(log, at, afterTokens: 1);
        var past = await ReadAllAsync(log, JobEventSequence.Of(9, 0), afterTokens: 1);

        foreach (var watched in new[] { events, past })
        {
            Assert.Equal(2, watched.Count);
            Assert.Equal(("", 1, 1), (watched[0].Text, watched[0].Tokens, Assert.Single(watched[0].Logprobs!).TokenId));
            Assert.True(watched[1].Job!.IsFinished);
            Assert.True(watched[0].Sequence < watched[1].Sequence || watched[0].Sequence == at + 1);
        }

        // One that has both tokens is sent the final event only.
        Assert.True(Assert.Single(await ReadAllAsync(log, at, afterTokens: 2)).Job!.IsFinished);
    }

    [Fact]
    public async Task A_position_inside_a_surrogate_pair_resumes_with_the_whole_character_never_half_of_it()
    {
        var log = new JobEventLog();
        log.AppendTokens("Hi \U0001F600 there", 3, null);
        log.AppendStatus(Succeeded, log.FinalSequence);

        // One code unit into the emoji: "Hi " and its high surrogate.
        var events = await ReadAllAsync(log, JobEventSequence.Of("Hi ".Length + 1, 0));

        var text = events[0].Text!;
        Assert.Equal("\U0001F600 there", text);
        Assert.DoesNotContain('\uFFFD', text);
        Assert.False(char.IsLowSurrogate(text[0]));
    }

    [Fact]
    public async Task A_watcher_past_the_final_event_still_receives_it()
    {
        var log = new JobEventLog();
        log.AppendTokens("Hi", 1, null);
        log.AppendStatus(Succeeded, log.FinalSequence);

        // Text regenerated after a failover came out shorter than what this watcher saw.
        var past = JobEventSequence.Of(50, 3);
        var events = await ReadAllAsync(log, past);

        var final = Assert.Single(events);
        Assert.Equal(past + 1, final.Sequence);
        Assert.Equal(JobStatus.Succeeded, final.Job!.Status);
    }

    [Fact]
    public async Task A_waiting_watcher_receives_each_event_as_it_is_appended_and_ends_at_the_final_one()
    {
        var log = new JobEventLog();
        log.AppendStatus(Queued);
        await using var watch = log.WatchAsync(log.LastSequence).GetAsyncEnumerator();

        var next = watch.MoveNextAsync();
        Assert.False(next.IsCompleted);
        log.AppendTokens("a", 1, null);
        Assert.True(await next);
        Assert.Equal("a", watch.Current.Text);

        next = watch.MoveNextAsync();
        Assert.False(next.IsCompleted);
        log.AppendStatus(Succeeded, log.FinalSequence);
        Assert.True(await next);
        Assert.True(watch.Current.Job!.IsFinished);
        Assert.False(await watch.MoveNextAsync());
    }

    [Fact]
    public async Task Cancelling_a_waiting_watch_ends_only_that_watch()
    {
        var log = new JobEventLog();
        using var cancellation = new CancellationTokenSource();
        await using var watch = log.WatchAsync(0, cancellation.Token).GetAsyncEnumerator();

        var next = watch.MoveNextAsync();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        log.AppendTokens("still", 1, null);
        Assert.Equal("still", Assert.Single(await ReadAvailableAsync(log, 0)).Text);
    }

    [Fact]
    public async Task A_restored_log_goes_on_where_the_last_activation_left_off()
    {
        // The last activation streamed "Hello wor" (2 tokens, then a status at that length) and checkpointed sequence s.
        var before = new JobEventLog();
        before.AppendTokens("Hello", 1, null);
        before.AppendTokens(" wor", 1, null);
        before.AppendStatus(Running);
        var saved = before.LastSequence;

        var log = new JobEventLog();
        log.Restore("Hello wor", 2, [new TokenLogprob(1, -1f, []), new TokenLogprob(2, -2f, [])], saved);
        Assert.Equal("Hello wor".Length, log.EmittedChars);
        Assert.Equal(saved, log.LastSequence);

        // A watcher that re-attaches after what it saw receives only the new text, in sequences after the old ones.
        log.AppendTokens("ld", 1, null);
        var events = await ReadAvailableAsync(log, saved);
        var rest = Assert.Single(events);
        Assert.Equal("ld", rest.Text);
        Assert.True(rest.Sequence > saved);

        // A new watcher receives the whole text, with the log probabilities that cover the restored tokens.
        var all = await ReadAvailableAsync(log, 0);
        Assert.Equal("Hello world", string.Concat(all.Select(e => e.Text)));
        Assert.Equal(2, all[0].Logprobs!.Length);
    }

    [Fact]
    public async Task Restoring_nothing_keeps_the_log_empty_but_the_saved_sequence_ahead()
    {
        var log = new JobEventLog();
        log.Restore(null, 0, null, JobEventSequence.Of(7, 2));

        Assert.True(log.IsEmpty);
        Assert.Equal(JobEventSequence.Of(7, 2), log.LastSequence);
        log.AppendStatus(Running);
        Assert.Equal(JobEventSequence.Of(7, 3), Assert.Single(await ReadAvailableAsync(log, 0)).Sequence);
    }

    [Fact]
    public async Task Erasing_keeps_only_the_final_status_with_the_content_free_job()
    {
        var log = new JobEventLog();
        log.AppendTokens("secret", 1, null);
        log.AppendStatus(Succeeded with { Output = "secret" }, log.FinalSequence);

        log.Erase(Succeeded);

        var final = Assert.Single(await ReadAllAsync(log, 0));
        Assert.Null(final.Job!.Output);
    }

    private static TokenLogprob[] Logprobs(int count, int from = 0) =>
        [.. Enumerable.Range(from, count).Select(id => new TokenLogprob(id, -1f - id, []))];

    /// <summary>Reads a watch to its end (the log must hold its final event).</summary>
    private static async Task<List<JobEvent>> ReadAllAsync(JobEventLog log, long afterSequence, long afterTokens = -1)
    {
        var events = new List<JobEvent>();
        await foreach (var e in log.WatchAsync(afterSequence, afterTokens))
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>Reads the events a watch has now, stopping where it would wait for more.</summary>
    private static async Task<List<JobEvent>> ReadAvailableAsync(JobEventLog log, long afterSequence)
    {
        var events = new List<JobEvent>();
        using var stop = new CancellationTokenSource();
        await using var watch = log.WatchAsync(afterSequence, stop.Token).GetAsyncEnumerator();
        while (true)
        {
            var next = watch.MoveNextAsync();
            if (!next.IsCompleted)
            {
                // Waiting for more: end the watch (an async iterator cannot be disposed while it waits).
                await stop.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
                return events;
            }

            if (!await next)
            {
                return events;
            }

            events.Add(watch.Current);
        }
    }
}
