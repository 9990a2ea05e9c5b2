using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// Equal nodes share work evenly. On a cluster of its own (in the scheduling collection, so nothing else runs meanwhile):
/// nodes' measured rates follow their recent load, and another test's load on one node would make that node measure
/// faster than the others for the next ten seconds, so they would not be equal.
/// </summary>
[Collection(SchedulingCollection.Name)]
public sealed class EvenSpreadTests(EvenSpreadTests.FreshCluster fresh) : IClassFixture<EvenSpreadTests.FreshCluster>
{
    private SchedulingClusterFixture Grid => fresh.Grid;

    [Fact]
    public async Task Load_spreads_across_three_equal_nodes_within_20_percent_of_even()
    {
        var tenant = await Grid.CreateTenantAsync();

        // Three jobs on an idle cluster: one per node.
        var three = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Grid.SubmitAsync(tenant, maxTokens: 32)));
        var placed = await Task.WhenAll(three.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain)));
        Assert.Equal(3, placed.Select(i => i.NodeId).Distinct().Count());

        // Rounds of four jobs at once, fewer than the six slots, so every placement is the policy's choice (fewest
        // running, then the lowest expected wait from each node's measured tokens/s) rather than whichever slot frees
        // first. The measured rates are real, so on a loaded machine one node can briefly measure faster and rightly
        // draw more: the spread is taken as the best of three attempts, as the other scheduling measurements are.
        var spreads = new List<List<int>>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var infos = new List<JobInfo>();
            for (var round = 0; round < 9; round++)
            {
                var jobs = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Grid.SubmitAsync(tenant, maxTokens: 128, promptSeed: (round * 4) + i)));
                infos.AddRange(await Task.WhenAll(jobs.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain))));
            }

            var perNode = SchedulingClusterFixture.Devices.Select(d => infos.Count(i => i.NodeId == Grid.NodeId(d))).ToList();
            Assert.Equal(infos.Count, perNode.Sum());
            spreads.Add(perNode);
            if (perNode.All(n => n >= 12 * 0.8 && n <= 12 * 1.2))
            {
                return;
            }
        }

        Assert.Fail($"No attempt spread 36 jobs over three equal nodes within 20% of 12 each: {string.Join("; ", spreads.Select(p => string.Join(", ", p)))}.");
    }

    /// <summary>A scheduling cluster of this class's own.</summary>
    public sealed class FreshCluster : IAsyncLifetime
    {
        public SchedulingClusterFixture Grid { get; } = new();

        public Task InitializeAsync() => Grid.InitializeAsync();

        public Task DisposeAsync() => Grid.DisposeAsync();
    }
}
