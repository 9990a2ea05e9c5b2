using Microsoft.Extensions.Time.Testing;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class StreamPacerTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(20);

    // A wait that never ends fails the test instead of hanging the run.
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_first_chunk_goes_at_once_and_the_next_waits_out_the_interval()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);

        Assert.Equal(TimeSpan.Zero, pacer.Remaining());

        pacer.OnSent();
        Assert.Equal(s_interval, pacer.Remaining());

        clock.Advance(TimeSpan.FromMilliseconds(15));
        Assert.Equal(TimeSpan.FromMilliseconds(5), pacer.Remaining());

        // A model slower than the interval: its next token finds the window closed and goes at once.
        clock.Advance(TimeSpan.FromMilliseconds(30));
        Assert.Equal(TimeSpan.Zero, pacer.Remaining());
    }

    [Fact]
    public void Without_an_interval_nothing_waits()
    {
        var pacer = new StreamPacer(TimeSpan.Zero, new FakeTimeProvider());
        pacer.OnSent();

        Assert.False(pacer.Enabled);
        Assert.Equal(TimeSpan.Zero, pacer.Remaining());
    }

    [Fact]
    public async Task A_chunk_waits_out_the_rest_of_the_interval_once()
    {
        var (clock, pacer, ended) = JustSent();

        var waiting = pacer.WaitAsync(ended.Task, CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(10));

        await waiting.WaitAsync(s_patience);
        Assert.Equal(TimeSpan.Zero, pacer.Remaining());
    }

    [Fact]
    public void The_first_chunk_and_a_closed_window_do_not_wait()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);
        var ended = new TaskCompletionSource();

        Assert.True(pacer.WaitAsync(ended.Task, CancellationToken.None).IsCompletedSuccessfully);

        pacer.OnSent();
        clock.Advance(s_interval);
        Assert.True(pacer.WaitAsync(ended.Task, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task The_sequence_ending_sends_its_last_tokens_without_waiting_for_the_window()
    {
        var (clock, pacer, ended) = JustSent();

        var waiting = pacer.WaitAsync(ended.Task, CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(5));
        Assert.False(waiting.IsCompleted);
        ended.SetResult();

        await waiting.WaitAsync(s_patience);
        Assert.Equal(TimeSpan.FromMilliseconds(15), pacer.Remaining());
    }

    [Fact]
    public async Task A_cancelled_sequence_does_not_keep_the_chunk_waiting()
    {
        var (_, pacer, ended) = JustSent();
        using var cancel = new CancellationTokenSource();

        var waiting = pacer.WaitAsync(ended.Task, cancel.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();

        await waiting.WaitAsync(s_patience);
        Assert.False(ended.Task.IsCompleted);
    }

    /// <summary>A pacer on a fake clock that has just sent a chunk, and its sequence's completion, not yet ended.</summary>
    private static (FakeTimeProvider Clock, StreamPacer Pacer, TaskCompletionSource Ended) JustSent()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);
        pacer.OnSent();
        return (clock, pacer, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
