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
    public async Task Load_spreads_evenly_across_three_equal_nodes()
    {
        var tenant = await Grid.CreateTenantAsync();

        // Three jobs on an idle cluster: one per node.
        var three = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Grid.SubmitAsync(tenant, maxTokens: 32)));
        var placed = await Task.WhenAll(three.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain)));
        Assert.Equal(3, placed.Select(i => i.NodeId).Distinct().Count());

        // Rounds of three jobs at once, fewer than the six slots: the policy places each on the node with the fewest
        // running, so every round covers every node whatever the nodes' measured rates (which follow the machine's
        // load, so a round of four, whose fourth job goes to the lowest expected wait, spreads by how busy the test
        // machine was rather than by the policy).
        var infos = new List<JobInfo>();
        for (var round = 0; round < 12; round++)
        {
            var jobs = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Grid.SubmitAsync(tenant, maxTokens: 128, promptSeed: (round * 3) + i)));
            var finished = await Task.WhenAll(jobs.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain)));
            Assert.Equal(3, finished.Select(i => i.NodeId).Distinct().Count());
            infos.AddRange(finished);
        }

        var perNode = SchedulingClusterFixture.Devices.Select(d => infos.Count(i => i.NodeId == Grid.NodeId(d))).ToList();
        Assert.Equal([12, 12, 12], perNode);
    }

    /// <summary>A scheduling cluster of this class's own.</summary>
    public sealed class FreshCluster : IAsyncLifetime
    {
        public SchedulingClusterFixture Grid { get; } = new();

        public Task InitializeAsync() => Grid.InitializeAsync();

        public Task DisposeAsync() => Grid.DisposeAsync();
    }
}
