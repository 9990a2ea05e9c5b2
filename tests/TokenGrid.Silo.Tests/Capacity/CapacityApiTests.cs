using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>
/// <c>GET /v1/capacity</c> on a server of its own, alone (every host in this process exports the same meter, so another
/// test's requests would show in this server's <c>/metrics</c>): its figures against <c>/metrics</c> and the ledger for a known
/// workload, its math, and bad query input.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class CapacityApiTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task FiguresAgreeWithTheMetricsAndTheLedger()
    {
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        using var anonymous = Server.Client(null);
        var (tenantId, key) = await Server.CreateTenantAsync(new { period_quota = 3000, period = "daily" });

        // A first read of the tenant (nothing charged yet) is the baseline its recent burn rate is measured from.
        await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), r => Task.FromResult(
            Tenant(r, tenantId) is null ? "the new tenant is not listed yet" : null), TimeSpan.FromSeconds(30));

        using var client = Server.Client(key);
        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => client.PostJsonAsync("v1/completions",
            new { model = TokenGridServer.Model, prompt = $"Capacity planning, request {i}:", max_tokens = 32 })));
        long total = 0;
        foreach (var reply in replies)
        {
            total += (await reply.ReadJsonAsync())["usage"]!["total_tokens"]!.GetValue<long>();
        }

        var node = $"{Server.SiloName}/cpu0";
        string metrics = "";
        var report = await CapacityPoll.UntilAsync(
            () => planner.GetCapacityAsync("?tenant_tpm=600&top=100"),
            async r =>
            {
                metrics = await anonymous.GetStringAsync("metrics");
                var generated = MetricsText.Sum(metrics, MetricsText.GeneratedTokensNames, l => l.GetValueOrDefault("node") == node);
                var onNode = generated;
                var ofModel = MetricsText.Sum(metrics, MetricsText.GeneratedTokensNames,
                    l => l.GetValueOrDefault("node") == node && l.GetValueOrDefault("model") == TokenGridServer.Model);
                var firstTokens = MetricsText.Sum(metrics, MetricsText.TimeToFirstTokenCountNames);
                var ledger = await ChargedInLedgerAsync(tenantId);
                var model = Model(r);
                // A node whose last report aged out (a loaded machine) is missing until its next one: keep polling.
                var nodeRow = r["nodes"]!.AsArray().SingleOrDefault(n => n!["node_id"]!.GetValue<string>() == node);
                var ttft = r["latency"]!.AsArray().SingleOrDefault(l => l!["metric"]!.GetValue<string>().EndsWith("time_to_first_token", StringComparison.Ordinal));
                var tenant = Tenant(r, tenantId);
                return nodeRow is null ? $"node {node} is not listed"
                    : generated is not > 0 ? "no generated tokens in /metrics"
                    : Number(r["cluster"]!["tokens_generated"]) != generated ? $"cluster tokens_generated vs metrics {generated}"
                    : Number(nodeRow["tokens_generated"]) != onNode ? $"node tokens_generated vs metrics {onNode}"
                    : Number(model["demand"]!["tokens_generated"]) != ofModel ? $"model tokens_generated vs metrics {ofModel}"
                    : ttft is null || Number(ttft["count"]) != firstTokens ? $"time_to_first_token count vs metrics {firstTokens}"
                    : ledger != total ? $"ledger charged {ledger} vs the replies' usage {total}"
                    : tenant is null || Number(tenant["charged"]) != ledger ? $"tenant charged vs ledger {ledger}"
                    : BurnDown(r, tenantId) is null ? "the tenant is not in the burn-down"
                    : null;
            },
            TimeSpan.FromSeconds(60),
            Server.RefreshNodesAsync);

        // Only the request latencies docs/capacity.md names: not the tenant saves the admissions made.
        Assert.Equal(["e2e_request_latency", "inter_token_latency", "request_queue_time", "time_to_first_token"],
            report["latency"]!.AsArray().Select(l => l!["metric"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        // The replies' tokens were charged; at the rate they were, the 3,000-token daily quota runs out before the day ends.
        var burn = BurnDown(report, tenantId)!;
        Assert.Equal(3000 - total, Number(burn["remaining"]));
        Assert.True(Date(burn["exhausts_at"]) < Date(burn["period_end"]));
        Assert.True(Number(burn["burn_tokens_per_second"]) > 0);

        // Headroom is capacity minus demand, and tenants are whole multiples of the asked size in it; against a capacity
        // that is only a lower bound, a figure that would be 0 is null (unknown) instead.
        foreach (var figures in new[] { report["cluster"]!, Model(report) })
        {
            var capacity = Number(figures["capacity_tokens_per_second"] ?? figures["supply"]!["capacity_tokens_per_second"]);
            var demand = Number(figures["demand_tokens_per_second"] ?? figures["demand"]!["requested_tokens_per_second"]);
            var lowerBound = (figures["capacity_is_lower_bound"] ?? figures["supply"]!["capacity_is_lower_bound"])!.GetValue<bool>();
            var headroom = Math.Max(0, capacity - demand);
            var tenants = Math.Floor(headroom * 60 / 600);
            AssertFigure(lowerBound && headroom == 0 ? null : headroom, figures["headroom_tokens_per_second"]);
            AssertFigure(lowerBound && tenants == 0 ? null : tenants, figures["headroom_tenants"]);
        }

        Assert.Equal(600, Number(report["tenant_tokens_per_minute"]));
        var row = report["nodes"]!.AsArray().Single(n => n!["node_id"]!.GetValue<string>() == node)!;
        Assert.True(Number(row["capacity_tokens_per_second"]) > 0, "a node that generated has a measured capacity");
        Assert.True(Number(row["capacity_tokens_per_second"]) >= Number(row["tokens_per_second"]));

        // Three requests at once on a batch of 32: the peak was generated with the batch less than half full.
        var peakBatch = Number(row["peak_batch_size"]);
        Assert.InRange(peakBatch, 1, 3);
        Assert.Equal(32, Number(row["max_batch_size"]));
        Assert.True(row["capacity_is_lower_bound"]!.GetValue<bool>());
        Assert.True(report["cluster"]!["capacity_is_lower_bound"]!.GetValue<bool>());
        Assert.Equal(Number(row["active_sequences"]) / 32, Number(row["slot_utilization"]), 6);
    }

    [Theory]
    [InlineData("?tenant_tpm=0", "tenant_tpm")]
    [InlineData("?tenant_tpm=-5", "tenant_tpm")]
    [InlineData("?tenant_tpm=lots", "tenant_tpm")]
    [InlineData("?tenant_tpm=1.5", "tenant_tpm")]
    [InlineData("?tenant_tpm=99999999999999999999999", "tenant_tpm")]
    [InlineData("?top=0", "top")]
    [InlineData("?top=101", "top")]
    [InlineData("?top=1&top=2", "top")]
    public async Task BadQueryInputIsAProblem(string query, string param)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var body = await (await admin.GetAsync("v1/capacity" + query)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("?tenant-tpm=20000", "tenant-tpm")]
    [InlineData("?tpm=5", "tpm")]
    [InlineData("?top=3&bogus=1", "bogus")]
    public async Task AnUnknownQueryParameterIsRefusedNamingIt(string query, string param)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var body = await (await admin.GetAsync("v1/capacity" + query)).AssertProblemAsync(HttpStatusCode.BadRequest, "unrecognized_argument");
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
        Assert.Contains("tenant_tpm, top", body["detail"]!.GetValue<string>());
    }

    private async Task<long> ChargedInLedgerAsync(string tenantId)
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var page = await (await admin.GetAsync($"admin/tenants/{tenantId}/ledger?after=0&limit=100")).ReadJsonAsync();
        return page["entries"]!.AsArray().Where(e => e!["kind"]!.GetValue<string>() == "charge").Sum(e => e!["tokens"]!.GetValue<long>());
    }

    private static JsonNode Model(JsonObject report) =>
        report["models"]!.AsArray().Single(m => m!["model"]!.GetValue<string>() == TokenGridServer.Model)!;

    private static JsonNode? Tenant(JsonObject report, string tenantId) =>
        report["top_tenants"]!.AsArray().SingleOrDefault(t => t!["tenant_id"]!.GetValue<string>() == tenantId);

    private static JsonNode? BurnDown(JsonObject report, string tenantId) =>
        report["burn_down"]!.AsArray().SingleOrDefault(t => t!["tenant_id"]!.GetValue<string>() == tenantId);

    private static double Number(JsonNode? node) => node!.GetValue<double>();

    private static void AssertFigure(double? expected, JsonNode? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
        }
        else
        {
            Assert.NotNull(actual);
            Assert.Equal(expected.Value, Number(actual), 6);
        }
    }

    private static DateTimeOffset Date(JsonNode? node) => DateTimeOffset.Parse(node!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Tests that compare with <c>/metrics</c>: they run after the others, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics, alone";
}
