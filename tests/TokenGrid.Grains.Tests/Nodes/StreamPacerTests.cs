using Microsoft.Extensions.Time.Testing;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class StreamPacerTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(20);

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
    public async Task A_token_produced_within_the_window_joins_the_chunk()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);
        pacer.OnSent();
        var next = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var waiting = pacer.WaitAsync(next.Task, CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.False(waiting.IsCompleted);
        next.SetResult(true);

        Assert.True(await waiting);
    }

    [Fact]
    public async Task When_the_window_closes_first_the_chunk_goes_and_the_read_stays_pending()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);
        pacer.OnSent();
        var next = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var waiting = pacer.WaitAsync(next.Task, CancellationToken.None).AsTask();
        clock.Advance(s_interval);

        Assert.False(await waiting);
        Assert.False(next.Task.IsCompleted);
    }

    [Fact]
    public async Task A_cancelled_sequence_does_not_keep_the_chunk_waiting()
    {
        var clock = new FakeTimeProvider();
        var pacer = new StreamPacer(s_interval, clock);
        pacer.OnSent();
        using var cancel = new CancellationTokenSource();
        var next = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var waiting = pacer.WaitAsync(next.Task, cancel.Token).AsTask();
        await cancel.CancelAsync();

        Assert.False(await waiting);
    }
}
