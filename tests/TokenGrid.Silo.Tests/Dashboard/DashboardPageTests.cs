using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// The planners' page in headless Chromium against a real silo on a real port: sign-in, live charts with data, a number
/// equal to the API's, no console errors, and a screenshot kept under artifacts/test-results.
/// </summary>
public sealed class DashboardPageTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    /// <summary>The charts, and whether each must show a positive value (the queue may well stay empty) or just values.</summary>
    private static readonly (string Chart, bool Positive)[] Charts =
    [
        ("chart-node-throughput", true), ("chart-model-throughput", true), ("chart-utilization", true), ("chart-queue", false),
        ("chart-latency", true), ("chart-top-tenants", true), ("chart-burn-down", true),
    ];

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task ThePageShowsTheClusterLive()
    {
        var (tenantId, key) = await Server.CreateTenantAsync(new { period_quota = 3000, period = "daily" });
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = Server.BaseAddress.ToString(), ViewportSize = new() { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add($"page: {error}");
        page.RequestFailed += (_, request) => errors.Add($"request failed: {request.Url} {request.Failure}");

        // Sign in with the planner key through the form.
        await page.GotoAsync("dashboard");
        await page.FillAsync("#key", PlannerServerFixture.PlannerKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#chart-node-throughput");

        // A workload while the page polls: the tenant burns its small daily quota fast.
        using var client = Server.Client(key);
        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => client.PostJsonAsync("v1/completions",
            new { model = TokenGridServer.Model, prompt = $"The dashboard shows request {i}", max_tokens = 48 })));
        foreach (var reply in replies)
        {
            await reply.ReadJsonAsync();
        }

        await Server.RefreshNodesAsync();
        var timeout = new PageWaitForFunctionOptions { Timeout = 60_000, PollingInterval = 100 };
        foreach (var (chart, positive) in Charts)
        {
            // Every chart is drawn by Chart.js and has values that are not gaps.
            var value = positive ? "v !== null && v > 0" : "v !== null";
            try
            {
                await page.WaitForFunctionAsync(
                    $$"""() => { const c = Chart.getChart('{{chart}}'); return !!c && c.data.datasets.some(d => d.data.some(v => {{value}})); }""",
                    null, timeout);
            }
            catch (TimeoutException)
            {
                var data = await page.EvaluateAsync<string>($"() => JSON.stringify(Chart.getChart('{chart}')?.data)");
                Assert.Fail($"{chart} has no data: {data}\n{string.Join("\n", errors)}");
            }
        }

        Assert.Equal(tenantId, await page.EvaluateAsync<string>("() => Chart.getChart('chart-burn-down').data.labels[0]"));

        // A number on the page equals the API's: the tokens generated, once no more are being generated.
        using var planner = Server.Client(PlannerServerFixture.PlannerKey);
        var shown = "";
        await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), async report =>
        {
            shown = await page.InnerTextAsync("[data-field='cluster.tokens_generated']");
            var api = report["cluster"]!["tokens_generated"]!.GetValue<long>();
            return api > 0 && Parse(shown) == api ? null : $"page shows {shown}, API says {api}";
        }, TimeSpan.FromSeconds(30));
        Assert.NotEqual("–", await page.InnerTextAsync("[data-field='cluster.headroom_tenants']"));

        // Three requests on a batch of 32 measure no full batch: the page flags the capacity as a lower bound, never
        // shows its headroom as 0, and shows the slots as the API counts them.
        await CapacityPoll.UntilAsync(() => planner.GetCapacityAsync(), async report =>
        {
            var cluster = report["cluster"]!;
            var note = await page.InnerTextAsync("[data-field='cluster.capacity_note']");
            var capacity = await page.InnerTextAsync("[data-field='cluster.capacity_tokens_per_second']");
            var headroom = await page.InnerTextAsync("[data-field='cluster.headroom_tokens_per_second']");
            var tenants = await page.InnerTextAsync("[data-field='cluster.headroom_tenants']");
            var slots = await page.InnerTextAsync("[data-field='cluster.slots']");
            var free = await page.InnerTextAsync("[data-field='cluster.headroom_slots']");
            var nodes = await page.InnerTextAsync("#nodes tbody");
            return !cluster["capacity_is_lower_bound"]!.GetValue<bool>() ? "the API does not flag the capacity as a lower bound"
                : !note.Contains("not yet measured at a full batch", StringComparison.Ordinal) ? $"capacity note: {note}"
                : !capacity.StartsWith("≥ ", StringComparison.Ordinal) ? $"capacity tile: {capacity}"
                : !IsLowerBoundHeadroom(headroom) || !IsLowerBoundHeadroom(tenants) ? $"headroom tiles: {headroom}, {tenants}"
                : Parse(slots) != cluster["slots"]!.GetValue<long>() ? $"slots tile {slots} vs the API's {cluster["slots"]}"
                : Parse(free) != cluster["headroom_slots"]!.GetValue<long>() ? $"headroom slots tile {free} vs the API's {cluster["headroom_slots"]}"
                : !nodes.Contains("not yet measured at a full batch", StringComparison.Ordinal) ? $"nodes table: {nodes}"
                : null;
        }, TimeSpan.FromSeconds(30));

        // Time to first token is recorded as each request ends; once it has arrived the latency chart shows it by default.
        await page.WaitForFunctionAsync(
            "() => document.getElementById('latency-metric').value.endsWith('time_to_first_token')"
                + " && Chart.getChart('chart-latency').data.datasets.some(d => !d.hidden && d.data.some(v => v !== null && v > 0))",
            null, timeout);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ArtifactsDirectory(), "dashboard.png"), FullPage = true });
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        // The grain-level view is the Orleans Dashboard, opened by the same sign-in.
        var orleans = await page.GotoAsync("dashboard/orleans/");
        Assert.Equal(200, orleans!.Status);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#content *').length > 0", null, timeout);
    }

    /// <summary>A headroom against a lower-bound capacity: unknown, or at least a positive figure; never a plain number.</summary>
    private static bool IsLowerBoundHeadroom(string text) =>
        text == "unknown" || (text.StartsWith("≥ ", StringComparison.Ordinal) && Parse(text[2..]) != 0);

    private static long Parse(string text) =>
        long.TryParse(text.Replace(",", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : -1;
}
