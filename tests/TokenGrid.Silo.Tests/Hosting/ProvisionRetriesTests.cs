using Microsoft.Extensions.Logging;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>The demo tenant's provisioning retries transient failures with doubling pauses, within the start-up bound.</summary>
public sealed class ProvisionRetriesTests
{
    private static readonly DatabaseOptions s_options = new()
    {
        StartupRetryTimeout = TimeSpan.FromSeconds(10),
        StartupRetryDelay = TimeSpan.FromSeconds(1),
        StartupRetryMaxDelay = TimeSpan.FromSeconds(4),
    };

    [Fact]
    public async Task Transient_failures_are_retried_after_doubling_pauses()
    {
        var clock = new SleepingClock();
        var log = new ErrorLogCapture(LogLevel.Warning);
        var attempts = new List<TimeSpan>();
        var start = clock.GetUtcNow();
        var retries = StartupProvisioner.ProvisionRetries(s_options, clock, log.CreateLogger("test"), "demo");

        var provisioning = retries.ExecuteAsync(
            _ =>
            {
                attempts.Add(clock.GetUtcNow() - start);
                return attempts.Count <= 3 ? throw new TimeoutException("silo gone") : ValueTask.FromResult("sk-demo");
            }).AsTask();
        var key = await DriveAsync(clock, provisioning);

        Assert.Equal("sk-demo", key);
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(7)], attempts);
        Assert.Contains(log.Errors, e => e.Contains("(attempt 2: storage or a silo is unavailable); retrying in 00:00:02", StringComparison.Ordinal));
    }

    [Fact]
    public async Task It_gives_up_when_the_next_pause_would_pass_the_timeout()
    {
        var clock = new SleepingClock();
        var attempts = 0;
        var retries = StartupProvisioner.ProvisionRetries(s_options, clock, new ErrorLogCapture().CreateLogger("test"), "demo");

        // Attempts at 0, 1, 3 and 7 s; the next pause (4 s) would end at 11 s, past the 10 s bound.
        var provisioning = retries.ExecuteAsync<string>(_ =>
        {
            attempts++;
            throw new TimeoutException("silo gone");
        }).AsTask();
        await Assert.ThrowsAsync<TimeoutException>(() => DriveAsync(clock, provisioning));
        Assert.Equal(4, attempts);
    }

    [Fact]
    public async Task Other_failures_are_not_retried()
    {
        var attempts = 0;
        var retries = StartupProvisioner.ProvisionRetries(s_options, new SleepingClock(), new ErrorLogCapture().CreateLogger("test"), "demo");

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => retries.ExecuteAsync<string>(_ =>
            {
                attempts++;
                throw new InvalidOperationException("bad spec");
            }).AsTask());
        Assert.Equal(1, attempts);
    }

    /// <summary>Moves the clock by one second whenever the retry sleeps, until <paramref name="work"/> ends (10 minutes at most).</summary>
    private static async Task<T> DriveAsync<T>(SleepingClock clock, Task<T> work)
    {
        var end = clock.GetUtcNow().AddMinutes(10);
        while (!work.IsCompleted)
        {
            await Task.WhenAny(clock.UntilSleepingAsync(), work).WaitAsync(TimeSpan.FromSeconds(30));
            if (!work.IsCompleted)
            {
                Assert.True(clock.GetUtcNow() < end, "Still retrying after 10 minutes.");
                clock.Advance(TimeSpan.FromSeconds(1));
            }
        }

        return await work;
    }
}
