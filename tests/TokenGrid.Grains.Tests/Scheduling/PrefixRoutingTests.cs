using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Tenants;
using TokenGrid.Inference.Engine.Prefix;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// Prefix-aware placement across nodes, end to end: the node that served a conversation's first turn advertises the
/// prompt's blocks with its next report, and the second turn goes back to it, where placement by load alone would take
/// the node unused longest.
/// </summary>
[Collection(SchedulingCollection.Name)]
public sealed class PrefixRoutingTests(SchedulingClusterFixture grid)
{
    private const int BlockTokens = 16;

    [Fact]
    public async Task A_conversations_second_turn_goes_to_the_node_that_holds_its_first_and_another_tenants_same_prompt_does_not()
    {
        var alice = await grid.CreateTenantAsync();
        var bob = await grid.CreateTenantAsync();
        int[] system = [.. Enumerable.Range(0, 4 * BlockTokens).Select(i => 300 + ((i * 37) % 600))];
        await IdleAsync();

        // Turn one runs wherever load puts it, and its node then advertises the prompt's blocks in alice's scope.
        var first = await RunAsync(alice, system);
        var holder = first.NodeId!;
        await AdvertisedAsync(holder, PrefixHashes.Summaries(PrefixCacheScopes.For(alice, null), system, BlockTokens));

        // The same prompt from bob is another scope: nothing cached for him, so load alone places it, on another node
        // (the holder was used last).
        var bobFirst = await RunAsync(bob, system);
        Assert.NotEqual(holder, bobFirst.NodeId);
        await AdvertisedAsync(bobFirst.NodeId!, PrefixHashes.Summaries(PrefixCacheScopes.For(bob, null), system, BlockTokens));

        // Turn two: the history plus a new message. Load alone would take the third node, unused longest; the holder's
        // cache wins. Bob's second turn goes back to his node likewise.
        int[] turn = [.. system, .. Enumerable.Range(0, BlockTokens).Select(i => 400 + i)];
        Assert.Equal(holder, (await RunAsync(alice, turn)).NodeId);
        Assert.Equal(bobFirst.NodeId, (await RunAsync(bob, turn)).NodeId);
    }

    /// <summary>Runs a short job on an idle cluster and returns it once it ended.</summary>
    private async Task<JobInfo> RunAsync(string tenant, int[] prompt)
    {
        await IdleAsync();
        var job = grid.Client.GetGrain<IJobGrain>($"job-{Guid.NewGuid():N}");
        await job.SubmitAsync(new JobSpec
        {
            TenantId = tenant,
            Model = SchedulingClusterFixture.Model,
            PromptTokens = prompt,
            MaxTokens = 4,
            Sampling = new JobSampling(Temperature: 0f),
            Stop = [],
            Output = JobOutputOptions.None,
        });
        var info = await SchedulingClusterFixture.FinishedAsync(job);
        Assert.Equal(JobStatus.Succeeded, info.Status);
        return info;
    }

    /// <summary>Waits until no job of the model holds a slot, so every node's expected wait is the same (none).</summary>
    private Task IdleAsync() =>
        Poll.UntilAsync(grid.Dispatcher.GetSnapshotAsync, s => s.Running == 0 && s.Queued == 0 && s.Nodes.Count == 3, "the nodes are idle");

    /// <summary>Waits until <paramref name="nodeId"/>'s report carries <paramref name="blocks"/>, then has the dispatcher read it.</summary>
    private async Task AdvertisedAsync(string nodeId, ulong[] blocks)
    {
        var registry = grid.Client.GetGrain<INodeRegistryGrain>(0);
        await Poll.UntilAsync(
            () => registry.ListForDispatcherAsync(SchedulingClusterFixture.Model),
            reports => reports.Any(r => r.NodeId == nodeId
                && r.PrefixDigests.TryGetValue(SchedulingClusterFixture.Model, out var digest)
                && digest.BlockTokens == BlockTokens && blocks.All(digest.Blocks.Contains)),
            $"{nodeId} advertises the prompt's blocks");
        await grid.Dispatcher.RefreshAsync();

        // Only dispatchers are sent digests, and only their own model's.
        Assert.All(await registry.ListAsync(), r => Assert.Empty(r.PrefixDigests));
        Assert.All(await registry.ListForDispatcherAsync("another-model"), r => Assert.Empty(r.PrefixDigests));
    }
}
