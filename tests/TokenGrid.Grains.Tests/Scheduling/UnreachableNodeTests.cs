using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// A node whose silo is gone as the job's silo sees it, while the dispatcher still lists it (membership views lag from
/// silo to silo after a silo dies): the job's placement fails at once, which is no loss of the job's work. The
/// dispatcher stops using the node and the job runs elsewhere instead of failing after its allowed node losses.
/// </summary>
[Collection(SchedulingCollection.Name)]
public sealed class UnreachableNodeTests(SchedulingClusterFixture grid)
{
    private const string Ghost = "ghost/cpu0";

    private async Task<long> GhostDispatchesAsync() =>
        (await grid.Dispatcher.GetSnapshotAsync()).Nodes.FirstOrDefault(n => n.NodeId == Ghost)?.Dispatched ?? 0;

    [Fact]
    public async Task A_job_placed_on_a_node_no_active_silo_hosts_waits_for_a_real_node_and_succeeds()
    {
        var tenant = await grid.CreateTenantAsync();
        var registry = grid.Client.GetGrain<INodeRegistryGrain>(0);
        var real = SchedulingClusterFixture.Devices.Select(d => grid.Client.GetGrain<INodeGrain>(grid.NodeId(d))).ToList();
        try
        {
            // The real nodes drain (no load, so other tests' placement is left as it was); the only node taking work
            // belongs to a silo membership has never seen, which the dispatcher counts as alive (only a membership
            // verdict removes a node) but no silo can host.
            await Task.WhenAll(real.Select(n => n.DrainAsync()));
            await registry.ReportAsync(new NodeReport
            {
                NodeId = Ghost,
                Silo = "ghost",
                Device = "cpu0",
                Provider = "Cpu",
                Models = [SchedulingClusterFixture.Model],
                MaxBatchSize = SchedulingClusterFixture.Slots,
                ReportedAt = DateTimeOffset.UtcNow,
            });
            await grid.Dispatcher.RefreshAsync();
            var (probe, _) = await grid.SubmitAsync(tenant, maxTokens: 4, promptSeed: 99);

            // The probe goes to the ghost, whose placement fails: it queues again (or, counting node losses, fails).
            await Poll.UntilAsync(
                async () => (await probe.GetAsync(), await GhostDispatchesAsync()),
                seen => seen.Item1!.IsFinished || (seen.Item2 > 0 && seen.Item1.Status == JobStatus.Queued),
                "the probe back in the queue after the ghost");
            await Task.WhenAll(real.Select(n => n.ResumeAsync()));
            await grid.Dispatcher.RefreshAsync();
            var final = await SchedulingClusterFixture.FinishedAsync(probe);

            Assert.Equal(JobStatus.Succeeded, final.Status);
            Assert.NotEqual(Ghost, final.NodeId);
            Assert.Equal(1, await GhostDispatchesAsync());
        }
        finally
        {
            await Task.WhenAll(real.Select(n => n.ResumeAsync()));
            await registry.RemoveAsync(Ghost);
            await grid.Dispatcher.RefreshAsync();
        }
    }
}
