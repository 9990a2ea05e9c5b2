using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>A real Prometheus server scrapes a running silo; PromQL sees exactly what the requests produced.</summary>
[Collection(MetricsCollection.Name)]
public sealed partial class PrometheusScrapeTests(MetricsFixture fixture)
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task Prometheus_counts_the_generated_tokens_of_the_requests()
    {
        await using var prometheus = await PrometheusServer.StartAsync($"{Server.BaseAddress.Host}:{Server.BaseAddress.Port}");
        var node = $"{Server.SiloName}/cpu0";
        var generatedQuery = $"sum(tokengrid_generation_tokens_total{{job=\"{PrometheusServer.Job}\",node=\"{node}\"}})";
        var promptQuery = $"sum(tokengrid_prompt_tokens_total{{job=\"{PrometheusServer.Job}\",node=\"{node}\"}})";

        // Other tests of the collection may have used this silo before: start from what the first scrape saw.
        Assert.Equal(1, await prometheus.WaitForValueAsync($"up{{job=\"{PrometheusServer.Job}\"}}", 1, TimeSpan.FromSeconds(30)));
        var generatedBefore = await prometheus.QueryScalarAsync(generatedQuery) ?? 0;
        var promptBefore = await prometheus.QueryScalarAsync(promptQuery) ?? 0;
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        long completion = 0, prompt = 0;
        foreach (var (text, maxTokens) in new[] { ("Prometheus counts", 7), ("every token the grid", 12), ("makes", 3) })
        {
            var body = await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = text, max_tokens = maxTokens, temperature = 0 })).ReadJsonAsync();
            completion += (long)body["usage"]!["completion_tokens"]!;
            prompt += (long)body["usage"]!["prompt_tokens"]!;
        }

        Assert.True(completion > 0);
        var generated = await prometheus.WaitForValueAsync(generatedQuery, generatedBefore + completion, TimeSpan.FromSeconds(60));
        Assert.Equal(completion, generated - generatedBefore);
        Assert.Equal(prompt, await prometheus.QueryScalarAsync(promptQuery) - promptBefore);

        // The silo's own, Orleans', ASP.NET Core's and the runtime's meters, and the resource naming service, silo and cluster.
        Assert.True(await prometheus.QueryScalarAsync("sum(tokengrid_requests_total{outcome=\"succeeded\"})") >= 3);
        Assert.True(await prometheus.QueryScalarAsync("sum(tokengrid_time_to_first_token_seconds_count)") >= 3);
        // Every bucket bound the alert rules select matches what Prometheus stored (le="1.0" from an OpenMetrics scrape).
        var selectors = RuleBucketSelector().Matches(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "k8s", "monitoring", "prometheus-rules.yaml")))
            .Select(m => m.Value).ToList();
        Assert.Contains(selectors, s => s.StartsWith("tokengrid_time_to_first_token_seconds_bucket", StringComparison.Ordinal));
        foreach (var selector in selectors)
        {
            Assert.True(await prometheus.QueryScalarAsync($"count({selector})") > 0, $"{selector} selects nothing Prometheus stored");
        }

        var names = (await prometheus.QueryAsync("count by (__name__) ({__name__=~\".+\"})")).Select(r => r.Labels["__name__"]).ToList();
        Assert.True(names.Count(n => n.StartsWith("orleans_", StringComparison.Ordinal)) > 10, string.Join(", ", names));
        Assert.True(await prometheus.QueryScalarAsync("count({__name__=~\"http_server_request_duration_seconds_count\"})") > 0);
        Assert.True(await prometheus.QueryScalarAsync("count({__name__=~\"dotnet_.+\"})") > 0);
        var target = Assert.Single(await prometheus.QueryAsync($"target_info{{job=\"{PrometheusServer.Job}\"}}"));
        Assert.Equal("tokengrid", target.Labels["service_name"]);
        Assert.Equal(Server.SiloName, target.Labels["service_instance_id"]);
        Assert.Equal(Server.SiloName, target.Labels["tokengrid_silo"]);
        Assert.StartsWith("test-", target.Labels["tokengrid_cluster"]);
    }

    /// <summary>A bucket series selected by its bound in a PromQL text.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"tokengrid_[a-z0-9_]+_bucket\{[^}]*\ble[=!~]+[^}]*\}")]
    private static partial System.Text.RegularExpressions.Regex RuleBucketSelector();
}
