using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
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
    public async Task While_every_node_a_tenant_may_use_drains_its_requests_are_refused_and_others_run()
    {
        var west = await grid.CreateTenantAsync(region: "west");
        var east = await grid.CreateTenantAsync(region: "east");
        var westNode = grid.Client.GetGrain<INodeGrain>(grid.NodeId("cpu0"));
        var holds = Enumerable.Range(0, SchedulingClusterFixture.Slots).Select(i => $"hold-west-{i}").ToList();
        Task HoldAsync(string id) => grid.Dispatcher.AdoptAsync(
            new DispatchRequest { JobId = id, TenantId = west, PromptTokens = 8, MaxTokens = 4, EnqueuedAt = DateTimeOffset.UtcNow, Resumed = true }, grid.NodeId("cpu0"));
        IJobGrain queued;
        try
        {
            // cpu0 is region west's only node. With its slots held (one freed and held again, so a run has ended within
            // the drain window and a wait can be quoted), a west job queues.
            foreach (var id in holds)
            {
                await HoldAsync(id);
            }

            await grid.Dispatcher.ReleaseAsync(holds[0], grid.NodeId("cpu0"), 0);
            await HoldAsync(holds[0]);
            (queued, var waiting) = await grid.SubmitAsync(west, maxTokens: 4);
            Assert.Equal(JobStatus.Queued, waiting.Status);
            Assert.NotNull((await grid.Dispatcher.GetPositionAsync(waiting.Id))!.ExpectedWait);

            // Drained, cpu0 takes nothing new until it resumes: new west requests are refused, the queued one shows no
            // wait, and east runs as before.
            await westNode.DrainAsync();
            var (_, refused) = await grid.SubmitAsync(west, maxTokens: 4);
            var (eastJob, _) = await grid.SubmitAsync(east, maxTokens: 4);

            Assert.Equal((JobStatus.Rejected, SchedulingRejection.NoEligibleNode), (refused.Status, refused.SchedulingRejection));
            Assert.Contains("draining", refused.Error);
            Assert.Equal(0, refused.ChargedTokens);
            Assert.Null((await grid.Dispatcher.GetPositionAsync(waiting.Id))!.ExpectedWait);
            Assert.Equal(JobStatus.Succeeded, (await SchedulingClusterFixture.FinishedAsync(eastJob)).Status);
        }
        finally
        {
            await westNode.ResumeAsync();
            foreach (var id in holds)
            {
                await grid.Dispatcher.ReleaseAsync(id, grid.NodeId("cpu0"), 0);
            }
        }

        // Resumed, cpu0 runs the queued job and takes new ones.
        var (resumed, _) = await grid.SubmitAsync(west, maxTokens: 4);
        foreach (var job in new[] { queued, resumed })
        {
            var info = await SchedulingClusterFixture.FinishedAsync(job);
            Assert.Equal((JobStatus.Succeeded, grid.NodeId("cpu0")), (info.Status, info.NodeId));
        }
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
