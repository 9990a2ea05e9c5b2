namespace TokenGrid.Inference.Engine;

/// <summary>
/// Splits the running batch into lanes: groups of rows of similar length, each decoded by a run of its own over a cache
/// padded only to its own longest row. One batch pads every row to the longest, and exported decoders read and write
/// every cached position every step (attention, and the concatenation of past and present), so one long conversation
/// makes every short one in its batch pay for its length. A further run costs what a run costs whatever its rows (the
/// weights are read once per run), so a split is worth it only when it saves more padded positions than that.
/// </summary>
internal static class DecodeLanes
{
    /// <summary>Places a lane may start at that the search tries, at most.</summary>
    internal const int MaxStarts = 64;

    /// <summary>A plan: the rows in lane order (indices into the lengths given), and each lane's row count.</summary>
    internal readonly record struct Plan(int[] Order, int[] Sizes);

    /// <summary>
    /// The split of rows of <paramref name="lengths"/> positions into at most <paramref name="maxLanes"/> lanes that
    /// minimises the padded positions (rows × the lane's longest row, summed over lanes) plus
    /// <paramref name="splitPositions"/> for every lane after the first. One lane keeps the rows in their order; several
    /// order them by length, shortest first, equal lengths in their order.
    /// </summary>
    public static Plan Split(IReadOnlyList<int> lengths, int maxLanes, long splitPositions)
    {
        var n = lengths.Count;
        if (maxLanes <= 1 || n <= 1)
        {
            return new Plan([.. Enumerable.Range(0, n)], n == 0 ? [] : [n]);
        }

        // One lane pads every row to the longest: when all that padding is no more than a further run costs, no split pays.
        long longest = 0, sum = 0;
        foreach (var length in lengths)
        {
            (longest, sum) = (Math.Max(longest, length), sum + length);
        }

        if ((longest * n) - sum <= splitPositions)
        {
            return new Plan([.. Enumerable.Range(0, n)], [n]);
        }

        var order = Enumerable.Range(0, n).OrderBy(i => lengths[i]).ToArray();
        var sorted = order.Select(i => (long)lengths[i]).ToArray();

        // A lane may start only where the length changes: splitting equal lengths never saves a position. With many
        // distinct lengths (large batches) the search, quadratic in those places, tries at most MaxStarts of them: the
        // largest jumps in length, where clusters of lengths meet, and as many again evenly spread by rank.
        var starts = Enumerable.Range(0, n).Where(i => i == 0 || sorted[i] != sorted[i - 1]).ToArray();
        if (starts.Length > MaxStarts)
        {
            var all = starts;
            var jumps = all.Skip(1).OrderByDescending(i => sorted[i] - sorted[i - 1]).ThenBy(i => i).Take((MaxStarts / 2) - 1);
            var spread = Enumerable.Range(1, MaxStarts / 2).Select(i => all[(int)((long)i * all.Length / ((MaxStarts / 2) + 1))]);
            starts = [.. jumps.Concat(spread).Append(0).Distinct().Order()];
        }

        var m = starts.Length;
        var lanes = Math.Min(maxLanes, m);

        // best[k, j]: the least cost of the rows before start j (j == m: all rows) in k + 1 lanes; from[k, j]: where its
        // last lane starts. A lane over starts i..j-1 holds rows starts[i]..end(j)-1, padded to the last one's length.
        long End(int j) => j == m ? n : starts[j];
        long Cost(int i, int j) => (End(j) - starts[i]) * sorted[End(j) - 1];
        var best = new long[lanes, m + 1];
        var from = new int[lanes, m + 1];
        for (var j = 1; j <= m; j++)
        {
            best[0, j] = Cost(0, j);
        }

        for (var k = 1; k < lanes; k++)
        {
            for (var j = k + 1; j <= m; j++)
            {
                best[k, j] = long.MaxValue;
                for (var i = k; i < j; i++)
                {
                    var cost = best[k - 1, i] + Cost(i, j) + splitPositions;
                    if (cost < best[k, j])
                    {
                        (best[k, j], from[k, j]) = (cost, i);
                    }
                }
            }
        }

        // Fewest lanes on a tie: a further lane must save strictly more than it costs.
        var chosen = 0;
        for (var k = 1; k < lanes; k++)
        {
            if (best[k, m] < best[chosen, m])
            {
                chosen = k;
            }
        }

        if (chosen == 0)
        {
            return new Plan([.. Enumerable.Range(0, n)], [n]);
        }

        var sizes = new int[chosen + 1];
        var end = m;
        for (var k = chosen; k >= 0; k--)
        {
            var start = k == 0 ? 0 : from[k, end];
            sizes[k] = (int)(End(end) - starts[start]);
            end = start;
        }

        return new Plan(order, sizes);
    }
}
