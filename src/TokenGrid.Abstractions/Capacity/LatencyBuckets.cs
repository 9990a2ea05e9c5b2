namespace TokenGrid.Abstractions.Capacity;

/// <summary>
/// The latency buckets the capacity view keeps (upper bounds in seconds) and the quantile estimate over them, the same
/// linear interpolation within a bucket as Prometheus' <c>histogram_quantile</c>.
/// </summary>
public static class LatencyBuckets
{
    /// <summary>
    /// Upper bounds in seconds; a last, open bucket holds everything above. They start at a quarter of a millisecond, so
    /// queue times and inter-token gaps of a few milliseconds are resolved rather than interpolated from 0: a percentile
    /// is exact to the width of the bucket it falls in, and one beyond the last bound is reported as that bound.
    /// </summary>
    public static IReadOnlyList<double> Bounds { get; } =
        [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 30, 60, 120];

    /// <summary>The bucket a measurement of <paramref name="seconds"/> falls in.</summary>
    public static int IndexOf(double seconds)
    {
        for (var i = 0; i < Bounds.Count; i++)
        {
            if (seconds <= Bounds[i])
            {
                return i;
            }
        }

        return Bounds.Count;
    }

    /// <summary>
    /// The <paramref name="q"/> quantile (0..1) of the counts: the bucket where the rank falls, interpolated linearly
    /// between its bounds (from 0 for the first); the last bound when it falls in the open bucket. Null without counts.
    /// </summary>
    public static double? Quantile(IReadOnlyList<long> buckets, double q)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var total = buckets.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = q * total;
        long seen = 0;
        for (var i = 0; i < buckets.Count; i++)
        {
            if (buckets[i] == 0 || seen + buckets[i] < rank)
            {
                seen += buckets[i];
                continue;
            }

            if (i >= Bounds.Count)
            {
                return Bounds[^1];
            }

            var lower = i == 0 ? 0 : Bounds[i - 1];
            return lower + ((Bounds[i] - lower) * (rank - seen) / buckets[i]);
        }

        return Bounds[^1];
    }
}
