using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

public sealed class TokenBucketTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Waiting_exactly_the_time_given_always_suffices()
    {
        // 7 tokens per minute: one token every 8.571428… s, a rate with no exact tick count.
        var bucket = TokenBucket.Full(7, T0);
        bucket.Take(7);
        var now = T0;
        for (var i = 0; i < 50; i++)
        {
            var wait = bucket.TimeUntil(1, 7, now);
            Assert.Equal(0, bucket.AvailableAt(7, now + wait - TimeSpan.FromTicks(1)));
            now += wait;
            bucket.Refill(7, now);
            Assert.Equal(1, bucket.AvailableAt(7, now));
            bucket.Take(1);
        }

        Assert.InRange(now - T0, TimeSpan.FromMinutes(50.0 / 7), TimeSpan.FromMinutes(50.0 / 7) + TimeSpan.FromTicks(50));
    }

    [Fact]
    public void Refill_stops_at_capacity_and_ignores_a_clock_that_went_back()
    {
        var bucket = TokenBucket.Full(100, T0);
        bucket.Take(100);
        bucket.Refill(100, T0.AddDays(3));
        Assert.Equal(100, bucket.AvailableAt(100, T0.AddDays(3)));

        bucket.Take(40);
        bucket.Refill(100, T0);
        Assert.Equal(60, bucket.AvailableAt(100, T0.AddDays(3)));
    }

    [Fact]
    public void Give_and_clamp_respect_capacity()
    {
        var bucket = TokenBucket.Full(100, T0);
        bucket.Take(30);
        bucket.Give(50, 100);
        Assert.Equal(100, bucket.AvailableAt(100, T0));

        bucket.Clamp(40);
        Assert.Equal(40, bucket.AvailableAt(40, T0));
        bucket.Clamp(400);
        Assert.Equal(40, bucket.AvailableAt(400, T0));
    }

    [Fact]
    public void Taking_more_than_the_level_throws()
    {
        var bucket = TokenBucket.Full(10, T0);
        Assert.Throws<InvalidOperationException>(() => bucket.Take(11));
    }

    [Fact]
    public void Huge_capacities_and_long_idle_times_do_not_overflow()
    {
        var bucket = TokenBucket.Full(long.MaxValue / 2, T0);
        bucket.Take(long.MaxValue / 2);
        bucket.Refill(long.MaxValue / 2, T0.AddYears(50));
        Assert.Equal(long.MaxValue / 2, bucket.AvailableAt(long.MaxValue / 2, T0.AddYears(50)));
    }
}
