using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>Which failures of a job's call to its dispatcher are asked again, and how long it waits in all.</summary>
public sealed class EnqueueRetryTests
{
    [Fact]
    public void A_lost_silo_is_asked_again_until_the_attempts_run_out()
    {
        foreach (var lost in new Exception[] { new SiloUnavailableException(), new ConnectionFailedException("gone") })
        {
            Assert.True(EnqueueRetry.ShouldRetry(lost, 1));
            Assert.True(EnqueueRetry.ShouldRetry(lost, EnqueueRetry.MaxAttempts - 1));
            Assert.False(EnqueueRetry.ShouldRetry(lost, EnqueueRetry.MaxAttempts));
        }
    }

    [Fact]
    public void Other_failures_are_the_jobs_at_once()
    {
        Assert.False(EnqueueRetry.ShouldRetry(new InvalidOperationException("a bug"), 1));
        Assert.False(EnqueueRetry.ShouldRetry(new TimeoutException(), 1));
    }

    [Fact]
    public void The_pauses_outlast_the_failure_detection()
    {
        var total = Enumerable.Range(1, EnqueueRetry.MaxAttempts - 1).Sum(a => EnqueueRetry.Delay(a).TotalSeconds);
        Assert.Equal(7.5, total);
        Assert.True(total > 3.5, "a dead silo is declared in about 3.5 s; the retries must outlast it");
    }
}
