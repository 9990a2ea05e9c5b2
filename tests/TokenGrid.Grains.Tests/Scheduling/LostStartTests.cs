using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// A start the job never heard: the dispatcher placed the job on a node, but the one-way start went to an activation
/// that died with its silo before saving that it ran. The job's next activation waits for a node and asks to queue again
/// (its tenant's recovery or a watcher wakes it); the dispatcher, which holds the node's slot for it, must say the node
/// again. Otherwise the job waits forever and the slot is never given back (a cluster kill test found this under load).
/// </summary>
[Collection(SchedulingCollection.Name)]
public sealed class LostStartTests(SchedulingClusterFixture grid)
{
    [Fact]
    public async Task A_job_whose_start_was_lost_runs_on_the_node_held_for_it_when_it_asks_to_queue_again()
    {
        var tenant = await grid.CreateTenantAsync();
        var held = grid.NodeId(SchedulingClusterFixture.Devices[0]);
        var holds = SchedulingClusterFixture.Devices.SelectMany(d => Enumerable.Range(0, SchedulingClusterFixture.Slots).Select(i => (Id: $"hold-{d}-{i}", Node: grid.NodeId(d)))).ToList();
        IJobGrain job;
        JobInfo submitted;
        try
        {
            // The job queues while every slot is held, then leaves the queue without being told: it still waits.
            foreach (var (id, node) in holds)
            {
                await grid.Dispatcher.AdoptAsync(new DispatchRequest { JobId = id, TenantId = tenant, PromptTokens = 8, MaxTokens = 4, EnqueuedAt = DateTimeOffset.UtcNow, Resumed = true }, node);
            }

            (job, submitted) = await grid.SubmitAsync(tenant, maxTokens: 4, promptSeed: 71);
            Assert.Equal(JobStatus.Queued, submitted.Status);
            await grid.Dispatcher.ReleaseAsync(submitted.Id, null, 0);
        }
        finally
        {
            foreach (var (id, node) in holds)
            {
                await grid.Dispatcher.ReleaseAsync(id, node, 0);
            }
        }

        // The dispatcher holds a slot on a node for it, as after a start whose message died with the job's activation.
        var request = new DispatchRequest { JobId = submitted.Id, TenantId = tenant, PromptTokens = 8, MaxTokens = 4, EnqueuedAt = DateTimeOffset.UtcNow, Resumed = true };
        await grid.Dispatcher.AdoptAsync(request, held);
        Assert.Equal(JobStatus.Queued, (await job.GetAsync())!.Status);

        // Woken (as its tenant's recovery reminder would), the job asks to queue again and is told the held node.
        await job.RecoverAsync(tenant, SchedulingClusterFixture.Model);
        var final = await Poll.UntilAsync(job.GetAsync, info => info!.IsFinished, "the job ended", TimeSpan.FromSeconds(60));

        Assert.Equal((JobStatus.Succeeded, held), (final!.Status, final.NodeId));
        await Poll.UntilAsync(
            grid.Dispatcher.GetSnapshotAsync,
            snapshot => snapshot.Nodes.Single(n => n.NodeId == held).Running == 0,
            "the held slot given back");
    }
}
