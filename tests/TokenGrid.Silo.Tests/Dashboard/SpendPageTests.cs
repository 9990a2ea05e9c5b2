using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>
/// The dashboard's spend view in headless Chromium, on the billing server after a priced request: the admin opens it
/// from the capacity page, the auditor signs in straight to it (and reaches nothing else), and a tenant key cannot sign
/// in. A screenshot is kept under artifacts/test-results.
/// </summary>
[Collection(BillingServerCollection.Name)]
public sealed class SpendPageTests(BillingServerFixture fixture)
{
    /// <summary>The tenant's spend cap: 50 micros, so one small request fills a visible part of its bar.</summary>
    private static readonly Money Cap = new(50);

    /// <summary>The program's budget: 20 micros, so its bar shows the request's subsidy too.</summary>
    private static readonly Money ProgramBudget = new(20);

    private static readonly PageWaitForSelectorOptions Shown = new() { Timeout = 30_000 };

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task The_spend_view_shows_a_tenants_spend_against_its_cap_a_programs_burn_down_and_the_revenue_of_demo_in_north()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var program = await SpendSetup.PutProgramAsync(admin, ProgramBudget.ToString());
        var (tenantId, key) = await Server.CreateTenantAsync(new { spend_cap = Cap.ToString(), subsidy_program = program });
        using var client = Server.Client(key);
        var usage = (await (await client.PostJsonAsync("v1/completions", new { model = TokenGridServer.Model, prompt = "Shown on the spend view", max_tokens = 8, temperature = 0 }))
            .ReadJsonAsync())["usage"]!;
        var expected = SpendSetup.Expected(usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>());

        // The program learns what it paid just after the answer (the tenant tells it once its settlement is saved).
        await SpendSetup.ProgramSettledAsync(admin, program);
        using var auditor = Server.Client(BillingServerFixtureBase.AuditorKey);
        var overview = await (await auditor.GetAsync("admin/billing/overview")).ReadJsonAsync();
        var revenue = SpendSetup.Row(overview["revenue"]!, "region", BillingServerFixtureBase.NodeRegion);
        var shown = SpendSetup.Row(overview["tenants"]!, "id", tenantId);

        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;

        // The admin signs in to the capacity page and follows its link to the spend view.
        var (page, errors) = await OpenAsync(browser);
        await SignInAsync(page, TokenGridServer.AdminKey);
        await page.ClickAsync("a[href='/dashboard/spend']");
        await ExpectFiguresAsync(page, shown, program, expected, revenue);
        Assert.Equal(1, await page.Locator("a[href='/dashboard']").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.ArtifactsDirectory(), "dashboard-spend.png"), FullPage = true });
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        // The auditor signs in straight to the spend view, and its session reaches nothing else.
        var (auditorPage, auditorErrors) = await OpenAsync(browser);
        await SignInAsync(auditorPage, BillingServerFixtureBase.AuditorKey);
        Assert.EndsWith("/dashboard/spend", auditorPage.Url, StringComparison.Ordinal);
        await ExpectFiguresAsync(auditorPage, shown, program, expected, revenue);
        Assert.Equal(["Sign out"], await auditorPage.Locator("button").AllInnerTextsAsync());
        Assert.Equal(0, await auditorPage.Locator("a[href^='/dashboard']").CountAsync());
        Assert.True(auditorErrors.Count == 0, string.Join("\n", auditorErrors));
        var statuses = await auditorPage.EvaluateAsync<int[]>(
            "() => Promise.all(['/v1/capacity', '/dashboard/orleans/DashboardCounters', '/admin/nodes'].map(p => fetch(p, { headers: { Accept: 'application/json' } }).then(r => r.status)))");
        Assert.Equal(new[] { 403, 403, 401 }, statuses);

        // A tenant key cannot sign in.
        var (tenantPage, _) = await OpenAsync(browser);
        await tenantPage.GotoAsync("dashboard/spend");
        await tenantPage.FillAsync("#key", key);
        var answer = await tenantPage.RunAndWaitForResponseAsync(() => tenantPage.ClickAsync("button[type=submit]"), "**/dashboard/login");
        Assert.Equal(401, answer.Status);
        Assert.Contains("not the planner, auditor or admin key", await tenantPage.InnerTextAsync("[role=alert]"), StringComparison.Ordinal);
        Assert.Empty(await tenantPage.Context.CookiesAsync());
        await tenantPage.GotoAsync("dashboard/spend");
        Assert.Equal(1, await tenantPage.Locator("#key").CountAsync());
    }

    /// <summary>A fresh browser context (no cookies) with a page that records console errors and failed requests.</summary>
    private async Task<(IPage Page, List<string> Errors)> OpenAsync(IBrowser browser)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString(), ViewportSize = new() { Width = 1400, Height = 900 } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"console: {message.Text}");
            }
        };
        page.PageError += (_, error) => errors.Add($"page: {error}");
        return (page, errors);
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("dashboard");
        await page.FillAsync("#key", key);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("header nav form", Shown);
    }

    /// <summary>The three tables as the API serves them, and the tenant's bar at its charged spend against its cap.</summary>
    private static async Task ExpectFiguresAsync(IPage page, JsonNode shown, string program, (Money List, Money Subsidy, Money Due) expected, JsonNode revenue)
    {
        var tenantId = shown["id"]!.GetValue<string>();
        var percent = (double)Math.Round(expected.Due.Micros * 100m / Cap.Micros, 2, MidpointRounding.AwayFromZero);
        Assert.Equal(percent, shown["percent_of_cap"]!.GetValue<double>());
        Assert.InRange(percent, 1, 100);
        var tenant = await page.WaitForSelectorAsync($"#tenants tr[data-key='{tenantId}']", Shown);
        Assert.Equal(
            [tenantId, shown["name"]!.GetValue<string>(), shown["month_amount_due"]!.GetValue<string>(), expected.Due.ToString(), "0.000000", Cap.ToString(),
                $"{percent.ToString(CultureInfo.InvariantCulture)} %"],
            (await CellsAsync(tenant!))[..7]);
        Assert.Equal([0, (double)Cap.ToDecimal(), (double)expected.Due.ToDecimal()], await tenant!.EvalOnSelectorAsync<double[]>("meter", "m => [m.min, m.max, m.value]"));

        var burn = await page.WaitForSelectorAsync($"#programs tr[data-key='{program}']", Shown);
        Assert.Equal([program, "40 %", ProgramBudget.ToString(), expected.Subsidy.ToString(), "0.000000", (ProgramBudget - expected.Subsidy).ToString()],
            (await CellsAsync(burn!))[..6]);
        Assert.Equal([(double)ProgramBudget.ToDecimal(), (double)expected.Subsidy.ToDecimal()], await burn!.EvalOnSelectorAsync<double[]>("meter", "m => [m.max, m.value]"));

        var north = await page.WaitForSelectorAsync($"#revenue tr[data-key='{TokenGridServer.Model}/{BillingServerFixtureBase.NodeRegion}/USD']", Shown);
        var tokens = revenue["tokens"]!.GetValue<long>().ToString("N0", CultureInfo.InvariantCulture);
        Assert.Equal(
            [TokenGridServer.Model, BillingServerFixtureBase.NodeRegion, tokens, revenue["list"]!.GetValue<string>(), revenue["discount"]!.GetValue<string>(),
                revenue["subsidy"]!.GetValue<string>(), revenue["amount_due"]!.GetValue<string>()],
            await CellsAsync(north!));
        Assert.Equal("USD", await page.InnerTextAsync("[data-field=currency]"));
    }

    private static async Task<string[]> CellsAsync(IElementHandle row)
    {
        var cells = new List<string>();
        foreach (var td in await row.QuerySelectorAllAsync("td"))
        {
            cells.Add((await td.InnerTextAsync()).Trim());
        }

        return [.. cells];
    }
}
