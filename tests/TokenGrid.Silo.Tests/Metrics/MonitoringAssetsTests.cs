using System.Text.Json;
using System.Text.RegularExpressions;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>
/// The alert rules and the Grafana dashboard in k8s/monitoring: promtool validates and unit-tests the rules, and every
/// series they use, like every series a silo exports, is documented in docs/metrics.md.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MonitoringAssetsTests(MetricsFixture fixture)
{
    private static readonly string s_root = FindRoot();
    private static readonly string s_rules = Path.Combine(s_root, "k8s", "monitoring", "prometheus-rules.yaml");
    private static readonly string s_dashboard = Path.Combine(s_root, "k8s", "monitoring", "tokengrid-dashboard.json");
    private static readonly string s_docs = Path.Combine(s_root, "docs", "metrics.md");
    private static readonly string s_tests = Path.Combine(s_root, "tests", "TokenGrid.Silo.Tests", "Metrics");

    /// <summary>
    /// The promtool rule tests: the main one feeds series as Prometheus stores them from an OpenMetrics scrape; the
    /// text-format one feeds the whole-number bounds (<c>le="1"</c>) of a text scrape.
    /// </summary>
    private static readonly string[] s_ruleTests = ["alert-rules.test.yaml", "alert-rules-text-format.test.yaml"];

    [Fact]
    public async Task Promtool_accepts_the_alert_rules_and_their_unit_tests_pass()
    {
        var directory = Directory.CreateTempSubdirectory("tokengrid-rules-").FullName;
        try
        {
            var rules = Path.Combine(directory, "rules.yaml");
            await File.WriteAllTextAsync(rules, RuleGroups(await File.ReadAllTextAsync(s_rules)));
            foreach (var file in s_ruleTests)
            {
                File.Copy(Path.Combine(s_tests, file), Path.Combine(directory, file));
            }

            var check = await PromtoolAsync(directory, "check", "rules", "rules.yaml");
            Assert.True(check.ExitCode == 0, check.Output);
            Assert.Contains("SUCCESS: 12 rules found", check.Output);
            var test = await PromtoolAsync(directory, ["test", "rules", .. s_ruleTests]);
            Assert.True(test.ExitCode == 0, test.Output);
            Assert.Contains("SUCCESS", test.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_dashboard_and_the_rules_use_only_documented_series()
    {
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(s_dashboard));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .ToList();
        Assert.True(expressions.Count >= 20, $"{expressions.Count} dashboard queries");

        var documented = Documented(await File.ReadAllTextAsync(s_docs));
        var used = expressions.Append(await File.ReadAllTextAsync(s_rules)).SelectMany(SeriesNames).ToHashSet();
        Assert.Contains("tokengrid_generation_tokens_total", used);
        Assert.Equal([], used.Where(name => !documented.Contains(name)).Order());
    }

    [Fact]
    public async Task Every_series_a_silo_exports_is_documented()
    {
        var (_, key) = await fixture.Server.CreateTenantAsync();
        using var client = fixture.Server.Client(key);
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Document me", max_tokens = 3 })).ReadJsonAsync();
        await fixture.Server.RefreshNodesAsync();

        using var anonymous = fixture.Server.Client(null);
        var exported = Families().Matches(await anonymous.GetStringAsync("metrics")).Select(m => m.Groups[1].Value).ToHashSet();
        var documented = Documented(await File.ReadAllTextAsync(s_docs));
        Assert.Contains("tokengrid_requests_running", exported);
        Assert.Contains("tokengrid_tenant_budget_remaining_tokens", exported);
        Assert.Contains("tokengrid_tenant_save_duration_seconds", exported);
        Assert.Contains("tokengrid_tenant_save_changes", exported);
        Assert.Contains("tokengrid_node_prefix_cache_lookups_total", exported);
        Assert.Contains("tokengrid_node_prefix_cache_hits_total", exported);
        Assert.Contains("tokengrid_node_prefix_cache_cached_tokens_total", exported);
        Assert.Contains("tokengrid_node_prefix_cache_evictions_total", exported);
        Assert.Contains("tokengrid_node_prefix_cache_blocks", exported);
        Assert.Contains("tokengrid_node_prefix_cache_used_bytes", exported);
        Assert.Contains("tokengrid_node_decode_lanes", exported);
        Assert.Equal([], exported.Where(name => !documented.Contains(name)).Order());
    }

    [Fact]
    public async Task The_rule_tests_feed_bucket_bounds_as_the_exporter_writes_them_in_OpenMetrics()
    {
        // Prometheus asks for OpenMetrics first, where the exporter writes le="1.0", and Prometheus 3 stores every le in
        // that form whatever the format: a rule test fed le="1" passed while the rule's le="1" matched nothing.
        var (_, key) = await fixture.Server.CreateTenantAsync();
        using var client = fixture.Server.Client(key);
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Bucket bounds", max_tokens = 2 })).ReadJsonAsync();

        using var anonymous = fixture.Server.Client(null);
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "metrics");
        scrape.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0");
        using var response = await anonymous.SendAsync(scrape);
        Assert.StartsWith("application/openmetrics-text", response.Content.Headers.ContentType?.ToString());
        var exported = BucketBound().Matches(await response.Content.ReadAsStringAsync())
            .Select(m => $"{m.Groups[1].Value} le={m.Groups[2].Value}").ToHashSet();

        var fed = BucketBound().Matches(await File.ReadAllTextAsync(Path.Combine(s_tests, s_ruleTests[0])))
            .Select(m => $"{m.Groups[1].Value} le={m.Groups[2].Value}").ToHashSet();
        Assert.Contains("tokengrid_time_to_first_token_seconds_bucket le=1.0", exported);
        Assert.NotEmpty(fed);
        Assert.Equal([], fed.Where(bound => !exported.Contains(bound)).Order());
    }

    /// <summary>The rule groups of a PrometheusRule: its <c>spec</c>, which is a Prometheus rules file.</summary>
    private static string RuleGroups(string prometheusRule)
    {
        var lines = prometheusRule.Split('\n');
        var spec = Array.FindIndex(lines, l => l.TrimEnd() == "spec:");
        Assert.True(spec >= 0, "The PrometheusRule has no spec.");
        return string.Join('\n', lines.Skip(spec + 1).Select(l => l.StartsWith("  ", StringComparison.Ordinal) ? l[2..] : l));
    }

    /// <summary>Series names in a PromQL text, with histogram suffixes folded into their family.</summary>
    private static IEnumerable<string> SeriesNames(string promql) =>
        SeriesName().Matches(promql).Select(m => Regex.Replace(m.Value, "_(bucket|count|sum)$", ""));

    /// <summary>Names in docs/metrics.md, in backticks.</summary>
    private static HashSet<string> Documented(string markdown) => [.. DocumentedName().Matches(markdown).Select(m => m.Groups[1].Value)];

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(string directory, params string[] arguments)
    {
        var (code, output, error) = await ChildProcess.RunAsync(PrometheusServer.Promtool, arguments, directory);
        return (code, output + error);
    }

    private static string FindRoot() => RepositoryRoot.Path;

    [GeneratedRegex(@"tokengrid_[a-z0-9_]+")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"`(tokengrid_[a-z0-9_]+)`")]
    private static partial Regex DocumentedName();

    [GeneratedRegex(@"(tokengrid_[a-z0-9_]+_bucket)\{[^}]*\ble=""([^""]+)""")]
    private static partial Regex BucketBound();

    [GeneratedRegex(@"^# TYPE (tokengrid_[a-z0-9_]+) ", RegexOptions.Multiline)]
    private static partial Regex Families();
}
