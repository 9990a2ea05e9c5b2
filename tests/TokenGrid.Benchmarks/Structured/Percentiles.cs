namespace TokenGrid.Benchmarks.Structured;

/// <summary>Nearest-rank percentiles of a sample.</summary>
internal static class Percentiles
{
    /// <summary>The <paramref name="percent"/>th percentile (0 to 100) of <paramref name="values"/>; 0 when empty.</summary>
    public static double Of(IReadOnlyList<double> values, double percent)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
