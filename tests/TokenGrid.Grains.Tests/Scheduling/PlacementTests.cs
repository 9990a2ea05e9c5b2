using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class PlacementTests(SchedulingClusterFixture grid)
{
    [Fact]
    public async Task A_tenant_restricted_to_region_west_never_runs_outside_it_while_west_is_saturated_and_east_is_idle()
    {
        var west = await grid.CreateTenantAsync(region: "west");
        var jobs = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => grid.SubmitAsync(west, maxTokens: 48, promptSeed: i)));

        // West's two slots are full and the rest wait, while the east nodes have nothing of this tenant.
        Assert.True(jobs.Count(j => j.Info.QueuePosition > 0) >= 6, "the jobs were not queued behind west's two slots");
        var snapshot = await grid.Dispatcher.GetSnapshotAsync();
        Assert.All(snapshot.Nodes.Where(n => n.NodeId != grid.NodeId("cpu0")), n => Assert.True(n.Running < n.Slots, $"{n.NodeId} is busy"));

        // The waiting jobs are demand for region=west, and for no other label.
        var demand = await grid.Dispatcher.GetDemandByLabelAsync();
        Assert.Equal(["region=west"], demand.Keys);
        Assert.True(demand["region=west"] > 0);

        var infos = await Task.WhenAll(jobs.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain)));
        Assert.All(infos, i => Assert.Equal(JobStatus.Succeeded, i.Status));
        Assert.All(infos, i => Assert.Equal(grid.NodeId("cpu0"), i.NodeId));
    }

    [Fact]
    public async Task A_tenant_whose_labels_no_node_carries_is_refused_with_the_reason_and_not_charged()
    {
        var north = await grid.CreateTenantAsync(region: "north");

        var (job, info) = await grid.SubmitAsync(north, maxTokens: 8);

        Assert.Equal(JobStatus.Rejected, info.Status);
        Assert.Equal(SchedulingRejection.NoEligibleNode, info.SchedulingRejection);
        Assert.Contains("region=north", info.Error);
        Assert.Null(info.NodeId);
        Assert.Equal(0, info.ChargedTokens);
        Assert.Equal(info, await job.GetAsync());
    }
}
