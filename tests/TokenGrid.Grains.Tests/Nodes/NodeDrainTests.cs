using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;
using static TokenGrid.Grains.Tests.Nodes.NodeClusterFixture;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>Draining a node: running sequences finish, new ones are refused, the node reports draining then drained.</summary>
[Collection(NodeCollection.Name)]
public sealed class NodeDrainTests(NodeClusterFixture nodes)
{
    [Fact]
    public async Task A_draining_node_finishes_what_runs_refuses_new_work_and_reports_drained_until_resumed()
    {
        var node = nodes.Node("cpu1");
        var registry = nodes.Client.GetGrain<INodeRegistryGrain>(0);
        await nodes.GenerateAsync("cpu1", Alpha);
        try
        {
            await using var running = node.GenerateAsync(Spec(Alpha, 900)).GetAsyncEnumerator();
            Assert.True(await running.MoveNextAsync());
            var chunks = new List<GenerationChunk> { running.Current };

            await node.DrainAsync();
            var draining = await node.GetReportAsync();
            var placeable = await registry.ListForModelAsync(Alpha);
            var refused = await nodes.GenerateAsync("cpu1", Alpha);

            Assert.True(draining.Draining);
            Assert.False(draining.Drained);
            Assert.DoesNotContain(placeable, r => r.NodeId == draining.NodeId);
            Assert.Contains(placeable, r => r.NodeId == NodeId.Of(nodes.SiloName, "cpu0"));
            Assert.True(refused.Refused);
            Assert.Contains("is draining", refused.Error);

            // The sequence that was running when the drain began runs to its end.
            while (await running.MoveNextAsync())
            {
                chunks.Add(running.Current);
            }

            var final = chunks[^1].Final!;
            Assert.False(final.Refused);
            Assert.Contains(final.FinishReason, new[] { "stop", "length" });
            Assert.Equal(final.CompletionTokens, chunks.Sum(c => c.Tokens));
            var drained = await nodes.ReportWhenAsync("cpu1", r => r.Drained, "the node reports drained");
            Assert.True(drained.Draining);
            Assert.Equal(0, drained.OutstandingTokens);
        }
        finally
        {
            await node.ResumeAsync();
        }

        var resumed = await node.GetReportAsync();
        var after = await nodes.GenerateAsync("cpu1", Alpha);

        Assert.False(resumed.Draining);
        Assert.False(resumed.Drained);
        Assert.False(after.Refused, after.Error);
        Assert.Contains(await registry.ListForModelAsync(Alpha), r => r.NodeId == resumed.NodeId);
    }

    [Fact]
    public async Task Once_a_drain_returns_the_models_dispatcher_knows_and_once_a_resume_returns_too()
    {
        // A dispatcher places from its own copy of the registry, refreshed every second. Fresh just before the drain, it
        // would have placed new jobs on the draining node until its next refresh, each refused, and a job refused four
        // times fails. The drain and the resume refresh it themselves.
        var node = nodes.Node("cpu1");
        var dispatcher = nodes.Client.GetGrain<IModelDispatcherGrain>(Alpha);
        var id = NodeId.Of(nodes.SiloName, "cpu1");
        await dispatcher.RefreshAsync();
        try
        {
            await node.DrainAsync();
            Assert.True(Assert.Single((await dispatcher.GetSnapshotAsync()).Nodes, n => n.NodeId == id).Draining);
        }
        finally
        {
            await node.ResumeAsync();
        }

        Assert.False(Assert.Single((await dispatcher.GetSnapshotAsync()).Nodes, n => n.NodeId == id).Draining);
    }

    [Fact]
    public async Task An_idle_node_is_drained_at_once_and_drain_and_resume_are_idempotent()
    {
        var node = nodes.Node("cpu1");
        try
        {
            await node.DrainAsync();
            await node.DrainAsync();
            var report = await nodes.ReportWhenAsync("cpu1", r => r.Drained, "the idle node reports drained");
            var listed = Assert.Single(await nodes.Client.GetGrain<INodeRegistryGrain>(0).ListAsync(), r => r.NodeId == report.NodeId);

            Assert.True(report.Draining);
            Assert.True(listed.Draining, "the registry hears of a drain at once");
        }
        finally
        {
            await node.ResumeAsync();
            await node.ResumeAsync();
        }

        Assert.False((await node.GetReportAsync()).Draining);
    }

    [Fact]
    public async Task The_drain_flag_survives_a_reactivation_of_the_node_grain()
    {
        var node = nodes.Node("cpu1");
        var management = nodes.Client.GetGrain<IManagementGrain>(0);
        try
        {
            await node.DrainAsync();
            await management.DeactivateGrain(node.GetGrainId());
            await NodeClusterFixture.UntilAsync(
                async () => await management.GetGrainActivationCount((GrainReference)node) == 0, "the node grain is deactivated");

            var report = await node.GetReportAsync();

            Assert.True(report.Draining);
            Assert.True(report.Drained);
            Assert.Equal(1, await management.GetGrainActivationCount((GrainReference)node));
        }
        finally
        {
            await node.ResumeAsync();
        }
    }
}
