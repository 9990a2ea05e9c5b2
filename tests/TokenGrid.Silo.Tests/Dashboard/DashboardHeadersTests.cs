using System.Net.Http.Headers;
using Microsoft.Playwright;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// The headers a browser gets under <c>/dashboard</c>, the Orleans Dashboard included: no framing, no sniffing, a
/// referrer policy, a Content-Security-Policy the pages satisfy (checked in headless Chromium on each view), nothing
/// stored by caches; and <c>no-store</c> on the JSON the pages poll.
/// </summary>
public sealed class DashboardHeadersTests(PlannerServerFixture fixture) : IClassFixture<PlannerServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Theory]
    [InlineData("dashboard", null)]
    [InlineData("dashboard/spend", null)]
    [InlineData("dashboard/assets/dashboard.js", null)]
    [InlineData("dashboard/orleans/", PlannerServerFixture.PlannerKey)]
    [InlineData("dashboard/orleans/index.min.js", PlannerServerFixture.PlannerKey)]
    [InlineData("dashboard/orleans/DashboardCounters", PlannerServerFixture.PlannerKey)]
    [InlineData("dashboard/orleans/GrainTypes", PlannerServerFixture.PlannerKey)]
    [InlineData("dashboard/orleans/DashboardCounters", null)]
    public async Task Every_dashboard_reply_forbids_framing_and_sniffing_and_sends_no_referrer_elsewhere(string path, string? key)
    {
        using var client = Server.Client(key);
        using var reply = await client.GetAsync(path);
        Assert.Equal("DENY", Single(reply, "X-Frame-Options"));
        Assert.Equal("nosniff", Single(reply, "X-Content-Type-Options"));
        Assert.Equal("same-origin", Single(reply, "Referrer-Policy"));
        var policy = Single(reply, "Content-Security-Policy");
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.NotNull(reply.Headers.CacheControl);
        Assert.True(reply.Headers.CacheControl!.NoStore || reply.Headers.CacheControl.NoCache, $"{path}: {reply.Headers.CacheControl}");
    }

    [Theory]
    [InlineData("v1/capacity", PlannerServerFixture.PlannerKey)]
    [InlineData("admin/billing/overview", PlannerServerFixture.AuditorKey)]
    public async Task The_figures_the_pages_poll_are_not_stored(string path, string key)
    {
        using var client = Server.Client(key);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var reply = await client.GetAsync(path);
        reply.EnsureSuccessStatusCode();
        Assert.True(reply.Headers.CacheControl?.NoStore, $"{path}: {reply.Headers.CacheControl}");
    }

    [Fact]
    public async Task The_pages_load_nothing_their_policy_blocks_and_no_other_origin_can_frame_them()
    {
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                errors.Add($"{page.Url}: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add($"{page.Url}: {error}");

        await page.GotoAsync("dashboard");
        await page.FillAsync("#key", TokenGridServer.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForFunctionAsync("() => document.getElementById('status').dataset.state === 'ok'");

        // A page of another origin on the same site (another port: the browser sends it the session cookie) frames them.
        await using var other = await OtherOrigin.StartAsync(
            string.Concat(new[] { "dashboard", "dashboard/spend", "dashboard/orleans/" }.Select(p => $"<iframe src=\"{Server.BaseAddress}{p}\"></iframe>")));
        var framing = await context.NewPageAsync();
        await framing.GotoAsync(other.Address.ToString());
        Assert.Equal(4, framing.Frames.Count);
        Assert.DoesNotContain(framing.Frames, frame => frame.Url.StartsWith(Server.BaseAddress.ToString(), StringComparison.Ordinal));

        await page.GotoAsync("dashboard/spend");
        await page.WaitForFunctionAsync("() => document.getElementById('status').dataset.state === 'ok'");
        foreach (var view in new[] { "", "#/grains", "#/silos", "#/reminders", "#/grain/TokenGrid.Grains.Tenants.TenantGrain", "#/grainState", "#/preferences" })
        {
            await page.GotoAsync("dashboard/orleans/" + view);
            await page.WaitForFunctionAsync("() => document.querySelectorAll('#menu a').length > 0 && !document.querySelector('#content .fa-spinner')");
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        }

        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    private static string Single(HttpResponseMessage reply, string name) =>
        reply.Headers.TryGetValues(name, out var values) || reply.Content.Headers.TryGetValues(name, out values)
            ? Assert.Single(values)
            : throw new Xunit.Sdk.XunitException($"{reply.RequestMessage!.RequestUri}: no {name} header");
}
