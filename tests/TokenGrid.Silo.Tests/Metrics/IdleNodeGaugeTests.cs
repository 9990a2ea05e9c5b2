using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>
/// A node whose requests have all ended publishes an empty batch: <c>tokengrid_node_batch_size</c> and
/// <c>tokengrid_node_decode_lanes</c> read 0, not the size of the last decode step before it went idle, and so does
/// <c>tokengrid_node_kv_cache_allocated_bytes</c>: an idle engine gives its key/value cache's buffers back.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class IdleNodeGaugeTests(MetricsFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task An_idle_node_reports_a_batch_of_0_after_its_requests_ended()
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var anonymous = Server.Client(null);
        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => client.PostJsonAsync("v1/completions",
            new { model = "demo", prompt = $"Batch gauge {i}", max_tokens = 16, ignore_eos = true })));
        foreach (var reply in replies)
        {
            Assert.Equal(16, (await reply.ReadJsonAsync())["usage"]!["completion_tokens"]!.GetValue<int>());
        }

        // A report taken after the requests ended shows nothing running and the tokens they generated in its 10-s rate
        // (the node reports when asked; the exporter may serve a scrape cached a moment earlier, so read until one shows).
        var node = $"{Server.SiloName}/cpu0";
        bool OnNode(IReadOnlyDictionary<string, string> labels) => labels.GetValueOrDefault("node") == node;
        string metrics;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Server.RefreshNodesAsync();
            metrics = await anonymous.GetStringAsync("metrics");
        }
        while (!(MetricsText.Sum(metrics, ["tokengrid_requests_running"], OnNode) == 0
                 && MetricsText.Sum(metrics, ["tokengrid_node_tokens_per_second"], OnNode) > 0
                 && MetricsText.Sum(metrics, ["tokengrid_node_kv_cache_allocated_bytes"], OnNode) == 0)
               && DateTime.UtcNow < deadline && await PauseAsync());

        Assert.Equal(0, MetricsText.Sum(metrics, ["tokengrid_requests_running"], OnNode));
        Assert.True(MetricsText.Sum(metrics, ["tokengrid_node_tokens_per_second"], OnNode) > 0, "no report after the requests");
        Assert.Equal(0, MetricsText.Sum(metrics, ["tokengrid_node_batch_size"], OnNode));
        Assert.Equal(0, MetricsText.Sum(metrics, ["tokengrid_node_decode_lanes"], OnNode));
        Assert.Equal(32, MetricsText.Sum(metrics, ["tokengrid_node_max_batch_size"], OnNode));

        // The key/value cache the requests needed went back when the engine fell idle; its limit is still published.
        Assert.Equal(0, MetricsText.Sum(metrics, ["tokengrid_node_kv_cache_allocated_bytes"], OnNode));
        Assert.True(MetricsText.Sum(metrics, ["tokengrid_node_kv_cache_limit_bytes"], OnNode) > 0, "no key/value limit published");
    }

    private static async Task<bool> PauseAsync()
    {
        await Task.Delay(100);
        return true;
    }
}
