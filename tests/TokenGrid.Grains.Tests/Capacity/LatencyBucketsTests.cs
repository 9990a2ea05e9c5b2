using TokenGrid.Abstractions.Capacity;

namespace TokenGrid.Grains.Tests.Capacity;

/// <summary>The capacity view's latency buckets resolve the sub-millisecond to few-millisecond latencies it serves.</summary>
public sealed class LatencyBucketsTests
{
    [Fact]
    public void Sub_millisecond_latencies_give_sub_millisecond_percentiles()
    {
        // 90 queue waits of 0.1 ms and 10 of 0.6 ms: the p50 was read as 2.5 ms when the first bucket was 0-5 ms.
        var buckets = new long[LatencyBuckets.Bounds.Count + 1];
        buckets[LatencyBuckets.IndexOf(0.0001)] += 90;
        buckets[LatencyBuckets.IndexOf(0.0006)] += 10;

        Assert.True(LatencyBuckets.Quantile(buckets, 0.5) <= 0.00025);
        Assert.True(LatencyBuckets.Quantile(buckets, 0.99) <= 0.001);
    }

    [Fact]
    public void Inter_token_gaps_of_a_few_milliseconds_fall_in_buckets_a_millisecond_or_so_wide()
    {
        var buckets = new long[LatencyBuckets.Bounds.Count + 1];
        buckets[LatencyBuckets.IndexOf(0.002)] += 100;

        var p50 = LatencyBuckets.Quantile(buckets, 0.5)!.Value;
        Assert.InRange(p50, 0.001, 0.0025);
    }
}
