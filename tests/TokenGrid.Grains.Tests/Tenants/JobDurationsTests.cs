using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

public sealed class JobDurationsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Ago(double seconds) => Now - TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Without_an_ended_job_the_wait_is_the_unmeasured_one()
    {
        var durations = new JobDurations();

        Assert.Null(durations.Typical());
        Assert.Equal(JobDurations.Unmeasured, durations.RetryAfter([Ago(1)], 1, Now));
    }

    [Fact]
    public void The_typical_job_is_the_median_of_the_latest_kept()
    {
        var durations = new JobDurations();
        durations.Add(TimeSpan.FromSeconds(9));
        Assert.Equal(TimeSpan.FromSeconds(9), durations.Typical());
        durations.Add(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(5), durations.Typical());
        durations.Add(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), durations.Typical());

        // A duration that is not positive (two silos' clocks apart) is not a job's length.
        durations.Add(TimeSpan.Zero);
        durations.Add(TimeSpan.FromSeconds(-3));
        Assert.Equal(TimeSpan.FromSeconds(2), durations.Typical());

        // Only the latest are kept: after that many jobs of 30 s, the three above no longer count.
        for (var i = 0; i < JobDurations.Kept; i++)
        {
            durations.Add(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(TimeSpan.FromSeconds(30), durations.Typical());
    }

    [Fact]
    public void The_wait_is_until_the_needed_th_open_job_is_expected_to_end_within_the_bounds()
    {
        var durations = new JobDurations();
        durations.Add(TimeSpan.FromSeconds(10));
        DateTimeOffset[] open = [Ago(7), Ago(1), Ago(4)];

        Assert.Equal(TimeSpan.FromSeconds(3), durations.RetryAfter(open, 1, Now));
        Assert.Equal(JobDurations.Shortest, durations.RetryAfter([Ago(9.5)], 1, Now));
        Assert.Equal(TimeSpan.FromSeconds(6), durations.RetryAfter(open, 2, Now));
        Assert.Equal(TimeSpan.FromSeconds(9), durations.RetryAfter(open, 3, Now));
        Assert.Equal(TimeSpan.FromSeconds(9), durations.RetryAfter(open, 5, Now));
        Assert.Equal(JobDurations.Shortest, durations.RetryAfter([Ago(60)], 1, Now));
        Assert.Equal(TimeSpan.FromSeconds(10), durations.RetryAfter([], 1, Now));

        durations.Add(TimeSpan.FromMinutes(10));
        durations.Add(TimeSpan.FromMinutes(10));
        Assert.Equal(JobDurations.Longest, durations.RetryAfter(open, 1, Now));
    }
}
