using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Nodes;
using static TokenGrid.Grains.Tests.Nodes.NodeClusterFixture;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>Several nodes in one silo, labels from configuration, and the registry's per-label supply.</summary>
[Collection(NodeCollection.Name)]
public sealed class NodeLabelTests(NodeClusterFixture nodes)
{
    [Fact]
    public async Task Each_node_of_a_silo_has_its_own_engines_and_its_labels()
    {
        await nodes.GenerateAsync("cpu0", Alpha);
        await nodes.GenerateAsync("cpu1", Alpha);

        var cpu0 = await nodes.Node("cpu0").GetReportAsync();
        var cpu1 = await nodes.Node("cpu1").GetReportAsync();

        Assert.Equal(new Dictionary<string, string> { ["region"] = "west", ["pool"] = "shared" }, cpu0.Labels);
        Assert.Equal(new Dictionary<string, string> { ["region"] = "west", ["pool"] = "batch" }, cpu1.Labels);
        Assert.True(nodes.Device("cpu0").Models.TryGetEngine(Alpha, out var engine0));
        Assert.True(nodes.Device("cpu1").Models.TryGetEngine(Alpha, out var engine1));
        Assert.NotSame(engine0, engine1);
        Assert.NotSame(engine0.Model.Session, engine1.Model.Session);
    }

    [Fact]
    public async Task Supply_per_label_adds_up_over_the_live_nodes()
    {
        var registry = nodes.Client.GetGrain<INodeRegistryGrain>(0);
        await nodes.GenerateAsync("cpu0", Alpha);
        await using var running = nodes.Node("cpu0").GenerateAsync(Spec(Alpha, 900)).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        await nodes.Node("cpu0").StartAsync();
        await nodes.Node("cpu1").StartAsync();

        var supply = await registry.SupplyByLabelAsync();
        var listed = await registry.ListAsync();

        LabelSupply Row(string key, string value) => Assert.Single(supply, s => s.Key == key && s.Value == value);
        var west = Row("region", "west");
        var shared = Row("pool", "shared");
        var batch = Row("pool", "batch");
        Assert.Equal(["pool=batch", "pool=shared", "region=west"], supply.Select(s => s.Label));
        Assert.Equal((2, 2), (west.Nodes, west.AcceptingNodes));
        Assert.Equal((1, 1), (shared.Nodes, batch.Nodes));
        Assert.Equal(listed.Count(r => r.Labels.GetValueOrDefault("region") == "west"), west.Nodes);
        Assert.Equal(shared.OutstandingTokens + batch.OutstandingTokens, west.OutstandingTokens);
        Assert.Equal(shared.ActiveSequences + batch.ActiveSequences, west.ActiveSequences);
        Assert.Equal(shared.QueuedSequences + batch.QueuedSequences, west.QueuedSequences);
        Assert.Equal(shared.MaxBatchSize + batch.MaxBatchSize, west.MaxBatchSize);
        Assert.Equal(shared.TokensPerSecond10s + batch.TokensPerSecond10s, west.TokensPerSecond10s, 6);
        Assert.True(shared.OutstandingTokens > 0, "the running sequence is outstanding on the shared pool");
        Assert.Equal(0, west.DemandTokens);
    }

    [Fact]
    public async Task The_registry_lists_nodes_for_a_model_loaded_ones_first()
    {
        await nodes.GenerateAsync("cpu0", Beta);
        await nodes.GenerateAsync("cpu1", Alpha);
        await nodes.Node("cpu0").StartAsync();
        await nodes.Node("cpu1").StartAsync();

        var forAlpha = await nodes.Client.GetGrain<INodeRegistryGrain>(0).ListForModelAsync(Alpha);
        var forUnknown = await nodes.Client.GetGrain<INodeRegistryGrain>(0).ListForModelAsync("no-such-model");

        Assert.Equal([NodeId.Of(nodes.SiloName, "cpu1"), NodeId.Of(nodes.SiloName, "cpu0")], forAlpha.Select(r => r.NodeId));
        Assert.Empty(forUnknown);
    }
}
