using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Tests.Support;
using static TokenGrid.Grains.Tests.Nodes.NodeClusterFixture;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>Multi-model nodes: on-demand loads, least-recently-used unloads under the memory budget, refusals with reasons.</summary>
[Collection(NodeCollection.Name)]
public sealed class ModelBudgetTests(NodeClusterFixture nodes)
{
    [Fact]
    public async Task A_node_serves_one_model_then_another_by_unloading_the_idle_one_and_back()
    {
        var loadsBefore = nodes.Device("cpu0").Models.Loads;
        await nodes.GenerateAsync("cpu0", Alpha);
        var first = await nodes.Node("cpu0").GetReportAsync();

        var beta = await nodes.GenerateAsync("cpu0", Beta);
        var afterBeta = await nodes.Node("cpu0").GetReportAsync();
        var alpha = await nodes.GenerateAsync("cpu0", Alpha);
        var afterAlpha = await nodes.Node("cpu0").GetReportAsync();

        Assert.Equal([Alpha], first.Models);
        Assert.Equal([Alpha, Beta, Huge], first.LoadableModels);
        Assert.Equal(nodes.Budget, first.MemoryBudgetBytes);
        Assert.False(beta.Refused, beta.Error);
        Assert.Equal([Beta], afterBeta.Models);
        Assert.Equal(nodes.Estimates[Beta], afterBeta.MemoryUsedBytes);
        Assert.False(alpha.Refused, alpha.Error);
        Assert.Equal([Alpha], afterAlpha.Models);
        Assert.Equal(nodes.Estimates[Alpha], afterAlpha.MemoryUsedBytes);
        Assert.True(afterAlpha.MemoryUsedBytes <= afterAlpha.MemoryBudgetBytes);

        // Beta loaded once and alpha reloaded once (plus alpha's first load when the node had not preloaded it).
        Assert.InRange(nodes.Device("cpu0").Models.Loads - loadsBefore, 2, 3);
        Assert.True(afterAlpha.TokensGenerated >= afterBeta.TokensGenerated, "the node's token counter survives unloads");
    }

    [Fact]
    public async Task A_cpu_node_runs_its_models_intra_op_pool_at_the_configured_nice_value()
    {
        await nodes.GenerateAsync("cpu1", Beta);

        // The fixture keeps the default: the node's setting reached the session (ModelThreadNiceTests reads the threads).
        Assert.True(nodes.Device("cpu1").Models.TryGetEngine(Beta, out var engine));
        Assert.Equal(new NodeOptions().CpuModelThreadNice, engine.Model.ThreadNice);
        Assert.NotEqual(0, engine.Model.ThreadNice);
    }

    [Fact]
    public async Task A_node_reports_its_models_fingerprints_and_refuses_a_sequence_tokenized_for_other_files()
    {
        var report = await nodes.Node("cpu1").GetReportAsync();
        var alpha = report.ModelFingerprints[Alpha];

        Assert.Matches("^fp_[0-9a-f]{16}$", alpha);
        Assert.NotEqual(alpha, report.ModelFingerprints[Beta]);
        Assert.Equal(report.LoadableModels.Order(), report.ModelFingerprints.Keys.Order());

        var other = await GridWait.ReadAllAsync(nodes.Node("cpu1").GenerateAsync(Spec(Alpha, 4) with { ModelFingerprint = "fp_0000000000000000" }));
        Assert.True(other[^1].Final!.Refused);
        Assert.Equal(0, other[^1].Final!.CompletionTokens);
        Assert.Contains($"serves model 'alpha' from other files (fingerprint {alpha}) than the job's (fp_0000000000000000)", other[^1].Final!.Error);

        var same = await GridWait.ReadAllAsync(nodes.Node("cpu1").GenerateAsync(Spec(Alpha, 4) with { ModelFingerprint = alpha }));
        Assert.False(same[^1].Final!.Refused, same[^1].Final!.Error);
        Assert.Equal(4, same[^1].Final!.CompletionTokens);
    }

    [Fact]
    public async Task A_model_whose_full_batch_exceeds_the_whole_budget_serves_with_the_key_value_cache_the_budget_leaves()
    {
        var final = await nodes.GenerateAsync("cpu0", Huge);
        var report = await nodes.Node("cpu0").GetReportAsync();

        Assert.False(final.Refused, final.Error);
        Assert.Equal(4, final.CompletionTokens);
        Assert.Contains(Huge, report.Models);
        Assert.Equal(nodes.Budget, report.MemoryUsedBytes);
        Assert.True(nodes.Device("cpu0").Models.TryGetEngine(Huge, out var engine));
        var huge = nodes.Catalog(Huge);
        var prefix = huge.PrefixCacheBytes(new NodeOptions().Engine.PrefixCacheTokens, new NodeOptions().Engine.PrefixBlockTokens);
        Assert.Equal(nodes.Budget - huge.WeightBytes - prefix, engine.KvCacheLimitBytes);
        Assert.InRange(engine.KvCacheLimitBytes, 2 * huge.KvBytesPerSequence, (2 * huge.KvBytesPerSequence * MaxBatchSize) - 1);
    }

    [Fact]
    public async Task A_model_in_use_is_not_unloaded_and_the_other_model_is_refused_until_it_is_idle()
    {
        await nodes.GenerateAsync("cpu0", Alpha);
        var node = nodes.Node("cpu0");

        await using (var running = node.GenerateAsync(Spec(Alpha, 900)).GetAsyncEnumerator())
        {
            Assert.True(await running.MoveNextAsync());
            Assert.Null(running.Current.Final);

            var refused = await nodes.GenerateAsync("cpu0", Beta);
            var during = await node.GetReportAsync();

            Assert.True(refused.Refused);
            Assert.Contains("cannot unload alpha: in use", refused.Error);
            Assert.Equal([Alpha], during.Models);
            Assert.True(during.OutstandingTokens > 0);
        }

        // Leaving the sequence returns its lease once it has left the engine; then nothing is outstanding.
        await nodes.ReportWhenAsync("cpu0", r => r.OutstandingTokens == 0 && r.ActiveSequences == 0, "the abandoned sequence has left");
        var beta = await nodes.GenerateAsync("cpu0", Beta);

        Assert.False(beta.Refused, beta.Error);
        Assert.Equal([Beta], (await node.GetReportAsync()).Models);
    }

    [Fact]
    public async Task Concurrent_requests_for_a_model_that_is_not_loaded_share_one_load()
    {
        await nodes.GenerateAsync("cpu0", Beta);
        Assert.DoesNotContain(Alpha, (await nodes.Node("cpu0").GetReportAsync()).Models);
        var loadsBefore = nodes.Device("cpu0").Models.Loads;

        var finals = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => nodes.GenerateAsync("cpu0", Alpha)));

        Assert.All(finals, f => Assert.False(f.Refused, f.Error));
        Assert.Equal(loadsBefore + 1, nodes.Device("cpu0").Models.Loads);
        Assert.Equal([Alpha], (await nodes.Node("cpu0").GetReportAsync()).Models);
    }

    [Fact]
    public async Task Outstanding_tokens_count_prompt_and_remaining_output_of_running_sequences()
    {
        await nodes.GenerateAsync("cpu0", Alpha);
        var node = nodes.Node("cpu0");
        await nodes.ReportWhenAsync("cpu0", r => r.OutstandingTokens == 0, "the node is idle");

        await using (var running = node.GenerateAsync(Spec(Alpha, 900)).GetAsyncEnumerator())
        {
            Assert.True(await running.MoveNextAsync());
            var received = running.Current.Tokens;
            var report = await nodes.ReportWhenAsync("cpu0", r => r.ActiveSequences == 1, "the engine counts the sequence as active");

            // Four prompt tokens plus the output not yet relayed: the node counts tokens as it relays them, which may
            // be ahead of what this client has read, never behind; the last output token keeps the prompt counted.
            Assert.InRange(report.OutstandingTokens, 4, 4 + 900 - received);
        }

        await nodes.ReportWhenAsync("cpu0", r => r.OutstandingTokens == 0, "the abandoned sequence is no longer outstanding");
    }
}
