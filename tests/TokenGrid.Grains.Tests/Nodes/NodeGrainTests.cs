using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Nodes;

[Collection(GridCollection.Name)]
public sealed class NodeGrainTests(GridClusterFixture grid)
{
    [Fact]
    public async Task Each_node_lives_on_the_silo_named_in_its_key_and_reports_to_the_registry()
    {
        var silos = grid.Cluster.Silos.Select(s => s.Name).ToList();
        Assert.Equal(2, silos.Count);

        foreach (var silo in silos)
        {
            var node = grid.Client.GetGrain<INodeGrain>(NodeId.Of(silo, "cpu0"));
            await node.StartAsync();
            var report = await node.GetReportAsync();

            // The report names the silo the grain runs on, which must be the one in its key.
            Assert.Equal(silo, report.Silo);
            Assert.Equal("cpu0", report.Device);
            Assert.Equal("Cpu", report.Provider);
            Assert.Equal([GridClusterFixture.Model], report.Models);
            Assert.True(report.MaxBatchSize > 0);
        }

        var listed = await grid.Client.GetGrain<INodeRegistryGrain>(0).ListAsync();
        foreach (var silo in silos)
        {
            var report = Assert.Single(listed, r => r.NodeId == NodeId.Of(silo, "cpu0"));
            Assert.Equal(silo, report.Silo);
            Assert.Equal("Cpu", report.Provider);
            Assert.Equal([GridClusterFixture.Model], report.Models);
        }
    }

    [Fact]
    public async Task A_node_of_a_silo_that_does_not_exist_cannot_be_placed()
    {
        var node = grid.Client.GetGrain<INodeGrain>(NodeId.Of("no-such-silo", "cpu0"));

        var error = await Assert.ThrowsAnyAsync<Exception>(node.GetReportAsync);

        Assert.Contains("no active silo is named 'no-such-silo'", error.ToString());
    }

    [Fact]
    public async Task A_node_streams_chunks_that_add_up_to_its_final_usage()
    {
        var node = grid.Client.GetGrain<INodeGrain>(NodeId.Of(grid.Cluster.Silos[0].Name, "cpu0"));
        var prompt = grid.CatalogModel.Tokenizer.Encode("Tokens are counted at the edge");

        var chunks = await GridWait.ReadAllAsync(node.GenerateAsync(new GenerationSpec("direct", GridClusterFixture.Model, prompt, 16, new JobSampling(0f), [])));

        var final = chunks[^1].Final!;
        Assert.All(chunks[..^1], c => Assert.Null(c.Final));
        Assert.False(final.Refused);
        Assert.Contains(final.FinishReason, new[] { "stop", "length" });
        Assert.Equal(prompt.Length, final.PromptTokens);
        Assert.Equal(final.CompletionTokens, chunks.Sum(c => c.Tokens));
    }

    [Fact]
    public async Task A_node_refuses_a_model_it_does_not_serve_and_an_invalid_request()
    {
        var node = grid.Client.GetGrain<INodeGrain>(NodeId.Of(grid.Cluster.Silos[0].Name, "cpu0"));

        var unknown = Assert.Single(await GridWait.ReadAllAsync(node.GenerateAsync(new GenerationSpec("x", "other", [1, 2], 4, new JobSampling(), []))));
        var invalid = Assert.Single(await GridWait.ReadAllAsync(node.GenerateAsync(new GenerationSpec("y", GridClusterFixture.Model, [], 4, new JobSampling(), []))));

        Assert.True(unknown.Final!.Refused);
        Assert.Contains("does not serve model 'other'", unknown.Final.Error);
        Assert.True(invalid.Final!.Refused);
        Assert.Equal((0, "failed"), (invalid.Tokens, invalid.Final.FinishReason));
    }

    [Fact]
    public async Task Leaving_a_generation_early_frees_its_engine_slot()
    {
        var silo = grid.Cluster.Silos[0];
        var runtime = grid.Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<NodeRuntime>();
        Assert.True(runtime.TryGetDevice("cpu0", out var device));
        Assert.True(device.Models.TryGetEngine(GridClusterFixture.Model, out var engine));
        await GridWait.UntilAsync(() => engine.Statistics.Snapshot() is { ActiveSequences: 0, QueuedSequences: 0 }, "the engine is idle");
        var before = engine.Statistics.Snapshot();
        var node = grid.Client.GetGrain<INodeGrain>(device.NodeId);
        var prompt = grid.CatalogModel.Tokenizer.Encode("A long story begins");

        await using (var chunks = node.GenerateAsync(new GenerationSpec("early", GridClusterFixture.Model, prompt, 900, new JobSampling(0f), [])).GetAsyncEnumerator())
        {
            Assert.True(await chunks.MoveNextAsync());
            Assert.Null(chunks.Current.Final);
        }

        await GridWait.UntilAsync(
            () => engine.Statistics.Snapshot() is { ActiveSequences: 0, QueuedSequences: 0 } now && now.Completed == before.Completed + 1,
            "the abandoned sequence has left the engine");
        Assert.True(engine.Statistics.Snapshot().TokensGenerated - before.TokensGenerated < 900);
    }

    [Fact]
    public async Task The_registry_drops_stale_and_removed_nodes()
    {
        var registry = grid.Client.GetGrain<INodeRegistryGrain>(0);
        NodeReport Report(string id, DateTimeOffset at) => new()
        {
            NodeId = id, Silo = "ghost", Device = "cpu0", Provider = "Cpu", Models = ["demo"], ReportedAt = at,
        };

        await registry.ReportAsync(Report("ghost/cpu0", DateTimeOffset.UtcNow.AddMinutes(-5)));
        await registry.ReportAsync(Report("ghost/cpu1", DateTimeOffset.UtcNow));
        var listed = await registry.ListAsync();
        await registry.RemoveAsync("ghost/cpu1");
        var afterRemoval = await registry.ListAsync();

        Assert.DoesNotContain(listed, r => r.NodeId == "ghost/cpu0");
        Assert.Contains(listed, r => r.NodeId == "ghost/cpu1");
        Assert.DoesNotContain(afterRemoval, r => r.Silo == "ghost");
    }
}
