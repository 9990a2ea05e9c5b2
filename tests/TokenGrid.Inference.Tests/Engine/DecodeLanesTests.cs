using TokenGrid.Inference.Engine;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>The lane plan: the split of a batch's rows that pads least, counting each further run at its price.</summary>
public sealed class DecodeLanesTests
{
    [Fact]
    public void One_long_row_among_short_ones_gets_a_lane_of_its_own_and_the_short_ones_keep_their_order()
    {
        int[] lengths = [20, 2000, 16, 18, 16];
        var plan = DecodeLanes.Split(lengths, maxLanes: 4, splitPositions: 1000);
        Assert.Equal([2, 4, 3, 0, 1], plan.Order);
        Assert.Equal([4, 1], plan.Sizes);
    }

    [Fact]
    public void A_split_that_saves_no_more_than_a_run_costs_is_not_made_and_the_order_is_kept()
    {
        // One lane pads 5 × 2000 = 10,000 positions; two lanes 4 × 20 + 2000 = 2,080: a saving of 7,920.
        int[] lengths = [20, 2000, 16, 18, 16];
        Assert.Equal(new[] { 5 }, DecodeLanes.Split(lengths, 4, 7920).Sizes);
        Assert.Equal([0, 1, 2, 3, 4], DecodeLanes.Split(lengths, 4, 7920).Order);
        Assert.Equal(new[] { 4, 1 }, DecodeLanes.Split(lengths, 4, 7919).Sizes);
    }

    [Fact]
    public void One_lane_allowed_keeps_the_batch_as_it_is()
    {
        var plan = DecodeLanes.Split([300, 5, 4000, 7], maxLanes: 1, splitPositions: 0);
        Assert.Equal([0, 1, 2, 3], plan.Order);
        Assert.Equal(new[] { 4 }, plan.Sizes);
        Assert.Empty(DecodeLanes.Split([], 4, 0).Sizes);
        Assert.Equal(new[] { 1 }, DecodeLanes.Split([9], 4, 0).Sizes);
    }

    [Fact]
    public void Three_clusters_take_three_lanes_when_allowed_and_the_best_two_otherwise()
    {
        int[] lengths = [1000, 10, 500, 11, 1001, 501];
        Assert.Equal(new[] { 2, 2, 2 }, DecodeLanes.Split(lengths, 3, 100).Sizes);
        // Two lanes: {10, 11, 500, 501} padded to 501 and {1000, 1001} (4,006) beat {10, 11} and the rest at 1001 (4,026).
        Assert.Equal(new[] { 4, 2 }, DecodeLanes.Split(lengths, 2, 100).Sizes);
    }

    [Fact]
    public void Equal_lengths_are_never_split()
    {
        var plan = DecodeLanes.Split([7, 7, 7, 7, 900, 900], 4, 0);
        Assert.Equal(new[] { 4, 2 }, plan.Sizes);
    }

    [Fact]
    public void The_plan_is_the_cheapest_of_every_split_of_the_rows_in_length_order()
    {
        var random = new Random(20261207);
        for (var trial = 0; trial < 400; trial++)
        {
            var lengths = Enumerable.Range(0, random.Next(1, 9)).Select(_ => random.Next(1, 5) * random.Next(1, 300)).ToArray();
            var maxLanes = random.Next(1, 5);
            var split = (long)random.Next(0, 2000);
            var plan = DecodeLanes.Split(lengths, maxLanes, split);

            Assert.Equal(Enumerable.Range(0, lengths.Length), plan.Order.Order());
            Assert.Equal(lengths.Length, plan.Sizes.Sum());
            Assert.All(plan.Sizes, s => Assert.True(s > 0));
            Assert.InRange(plan.Sizes.Length, 1, maxLanes);
            Assert.Equal(BruteForce(lengths, maxLanes, split), Cost(plan.Order.Select(i => lengths[i]).ToArray(), plan.Sizes, split));
            if (plan.Sizes.Length > 1)
            {
                // Lanes in length order: every row of a lane is no longer than any row of the next.
                var ordered = plan.Order.Select(i => lengths[i]).ToArray();
                Assert.Equal(ordered.Order(), ordered);
            }
        }
    }

    [Fact]
    public void A_batch_of_a_thousand_distinct_lengths_is_cut_where_its_lengths_jump()
    {
        // 1,000 rows of 1,000 distinct lengths, shuffled: 600 of 10 to 609 positions, 400 of 3,000 to 3,399.
        int[] lengths = [.. Enumerable.Range(0, 1000).Select(i => i < 600 ? 10 + i : 2400 + i).OrderBy(l => (l * 7919) % 1009)];
        Assert.Equal(1000, lengths.Distinct().Count());
        var plan = DecodeLanes.Split(lengths, 2, 10_000);
        Assert.Equal(2, plan.Sizes.Length);
        Assert.Equal(600, plan.Sizes[0]);
        Assert.True(plan.Order.Take(600).All(i => lengths[i] < 1000));

        // The search over its places cuts no worse than four lanes of a quarter of the rows each would.
        var four = DecodeLanes.Split(lengths, 4, 0);
        var ordered = four.Order.Select(i => lengths[i]).ToArray();
        Assert.Equal(4, four.Sizes.Length);
        Assert.True(Cost(ordered, four.Sizes, 0) <= Cost([.. lengths.Order()], [250, 250, 250, 250], 0));
    }

    private static long Cost(int[] ordered, IReadOnlyList<int> sizes, long split)
    {
        long cost = 0;
        var first = 0;
        foreach (var size in sizes)
        {
            cost += (long)size * ordered.Skip(first).Take(size).Max();
            first += size;
        }

        return cost + ((sizes.Count - 1) * split);
    }

    /// <summary>Every way to cut the rows, in length order, into at most <paramref name="maxLanes"/> runs.</summary>
    private static long BruteForce(int[] lengths, int maxLanes, long split)
    {
        var sorted = lengths.Order().ToArray();
        var best = long.MaxValue;
        for (var mask = 0; mask < 1 << (sorted.Length - 1); mask++)
        {
            var sizes = new List<int>();
            var size = 1;
            for (var i = 0; i < sorted.Length - 1; i++)
            {
                if ((mask & (1 << i)) != 0)
                {
                    sizes.Add(size);
                    size = 0;
                }

                size++;
            }

            sizes.Add(size);
            if (sizes.Count <= maxLanes)
            {
                best = Math.Min(best, Cost(sorted, sizes, split));
            }
        }

        return best;
    }
}
