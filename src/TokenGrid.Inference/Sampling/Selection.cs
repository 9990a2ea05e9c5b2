namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Partial selection (C++'s <c>nth_element</c>, largest first): puts the value of rank <c>n</c> at index <c>n</c>, with
/// none smaller before it and none larger after it, in expected linear time and without sorting either side. .NET has a
/// sort but no selection, and this one works in place on a span of floats with no comparer, so it is ours.
/// </summary>
internal static class Selection
{
    /// <summary>Below this many values, a range is finished by insertion (fewer moves than more partitions).</summary>
    private const int Small = 16;

    /// <summary>
    /// Reorders <paramref name="values"/> (no NaN among them) so that <c>values[n]</c> is the value a descending sort
    /// would put there, every value before it is at least it and every value after it at most it; returns that value.
    /// </summary>
    public static float NthLargest(Span<float> values, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(n, values.Length);
        var (lo, hi) = (0, values.Length - 1);
        while (hi - lo >= Small)
        {
            // Hoare's partition around the median of three: [lo, j] holds values ≥ pivot, [i, hi] values ≤ pivot, and
            // anything strictly between the two equals it.
            var pivot = MedianOfThree(values[lo], values[lo + ((hi - lo) / 2)], values[hi]);
            var (i, j) = (lo, hi);
            while (i <= j)
            {
                while (values[i] > pivot)
                {
                    i++;
                }

                while (values[j] < pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (n <= j)
            {
                hi = j;
            }
            else if (n >= i)
            {
                lo = i;
            }
            else
            {
                return values[n];
            }
        }

        // Insertion, descending, over what is left.
        for (var i = lo + 1; i <= hi; i++)
        {
            var value = values[i];
            var at = i;
            while (at > lo && values[at - 1] < value)
            {
                values[at] = values[at - 1];
                at--;
            }

            values[at] = value;
        }

        return values[n];
    }

    private static float MedianOfThree(float a, float b, float c) =>
        a < b ? (b < c ? b : Math.Max(a, c)) : (a < c ? a : Math.Max(b, c));
}
