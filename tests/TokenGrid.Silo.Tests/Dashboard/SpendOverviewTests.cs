using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Dashboard;

[Collection(BillingServerCollection.Name)]
public sealed class SpendOverviewTests(BillingServerFixture fixture) : SpendOverviewSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresSpendOverviewTests(PostgresBillingServerFixture fixture) : SpendOverviewSuite(fixture.Server);

/// <summary>
/// <c>GET /admin/billing/overview</c>, the dashboard's spend view, on one profile: after one priced request of a capped,
/// subsidized tenant it shows the tenant's spend against its cap, the program's burn-down and the month's revenue for
/// the model in the node's region, exactly; and only the auditor and admin (by key or dashboard session) read it.
/// </summary>
public abstract class SpendOverviewSuite(TokenGridServer server)
{
    private const string Overview = "admin/billing/overview";

    [Fact]
    public async Task A_priced_request_shows_in_the_tenants_spend_the_programs_burn_down_and_the_revenue_of_its_model_and_region()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(BillingServerFixtureBase.AuditorKey);
        var program = await SpendSetup.PutProgramAsync(admin, "1");
        var (tenantId, key) = await server.CreateTenantAsync(new { spend_cap = "0.5", subsidy_program = program });

        // A tenant that spends nothing, whose id comes before every other: the view ranks by spend, not by id.
        var idle = "0-idle-" + Guid.NewGuid().ToString("N")[..12];
        await (await admin.PostJsonAsync("admin/tenants", new { id = idle })).ReadJsonAsync(HttpStatusCode.Created);
        var before = await (await auditor.GetAsync(Overview)).ReadJsonAsync();

        using var client = server.Client(key);
        var usage = (await (await client.PostJsonAsync("v1/completions", new { model = TokenGridServer.Model, prompt = "Spend view", max_tokens = 7, temperature = 0 }))
            .ReadJsonAsync())["usage"]!;
        var expected = SpendSetup.Expected(usage["prompt_tokens"]!.GetValue<int>(), usage["completion_tokens"]!.GetValue<int>());
        await SpendSetup.ProgramSettledAsync(admin, program);
        var after = await (await auditor.GetAsync(Overview)).ReadJsonAsync();

        Assert.Equal(("billing.overview", "USD", false), (after["object"]!.GetValue<string>(), after["currency"]!.GetValue<string>(), after["tenants_truncated"]!.GetValue<bool>()));
        Assert.Equal(0, after["tenants_not_shown"]!.GetValue<int>());
        var tenant = SpendSetup.Row(after["tenants"]!, "id", tenantId);
        Assert.Equal(expected.Due.ToString(), tenant["month_amount_due"]!.GetValue<string>());

        // Largest spenders of the month first, then the tenants without a priced charge this month.
        var monthSpend = after["tenants"]!.AsArray().Select(t => decimal.Parse(t!["month_amount_due"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(monthSpend.OrderDescending(), monthSpend);
        Assert.True(after["tenants_with_spend"]!.GetValue<int>() >= 1);
        Assert.Equal(after["tenants_with_spend"]!.GetValue<int>(), monthSpend.Count(m => m > 0));
        var percent = Math.Round(expected.Due.Micros * 100m / 500_000, 2, MidpointRounding.AwayFromZero);
        Assert.Equal((expected.Due.ToString(), "0.000000", "0.500000", percent), (
            tenant["spend_charged"]!.GetValue<string>(), tenant["spend_reserved"]!.GetValue<string>(),
            tenant["spend_cap"]!.GetValue<string>(), tenant["percent_of_cap"]!.GetValue<decimal>()));

        var burn = SpendSetup.Row(after["programs"]!, "id", program);
        Assert.Equal((4000, "1.000000", expected.Subsidy.ToString(), "0.000000", (new Money(1_000_000) - expected.Subsidy).ToString()), (
            burn["share_bps"]!.GetValue<int>(), burn["budget_per_period"]!.GetValue<string>(), burn["spent"]!.GetValue<string>(),
            burn["reserved"]!.GetValue<string>(), burn["remaining"]!.GetValue<string>()));

        // Tests of a collection run one at a time: the revenue of demo in north grew by exactly this request.
        var grown = SpendSetup.RevenueDelta(before, after);
        Assert.Equal((usage["total_tokens"]!.GetValue<long>(), expected.List, Money.Zero, expected.Subsidy, expected.Due), grown);
    }

    [Fact]
    public async Task Only_the_auditor_and_admin_read_it_by_key_or_by_dashboard_session()
    {
        var (_, tenantKey) = await server.CreateTenantAsync();
        foreach (var key in new[] { TokenGridServer.AdminKey, BillingServerFixtureBase.AuditorKey })
        {
            using var reader = server.Client(key);
            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync(Overview)).StatusCode);
        }

        foreach (var key in new[] { null, tenantKey, "tg-unknown-0123456789abcdef" })
        {
            using var other = server.Client(key);
            await (await other.GetAsync(Overview)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        // The auditor's dashboard session opens the spend view and nothing else; a tenant key cannot sign in.
        using var signIn = await SignInAsync(BillingServerFixtureBase.AuditorKey);
        Assert.Equal(HttpStatusCode.SeeOther, signIn.StatusCode);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single();
        var session = cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync(Overview, session)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithCookieAsync("dashboard/spend", session)).StatusCode);
        Assert.Equal("/dashboard/spend", (await WithCookieAsync("dashboard", session)).Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Forbidden, (await WithCookieAsync("v1/capacity", session)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await WithCookieAsync("dashboard/orleans/DashboardCounters", session)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("admin/audit", session)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithCookieAsync("admin/nodes", session)).StatusCode);

        using var refused = await SignInAsync(tenantKey);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
    }

    private async Task<HttpResponseMessage> SignInAsync(string key)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        return await client.PostAsync("dashboard/login", new FormUrlEncodedContent([new("key", key)]));
    }

    private async Task<HttpResponseMessage> WithCookieAsync(string path, string cookie)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await client.SendAsync(request);
    }
}

/// <summary>The spend view tests' shared steps: a 40% subsidy program, the figures one request must add, rows by key.</summary>
internal static class SpendSetup
{
    /// <summary>Creates a program paying 40% up to <paramref name="budget"/> per period, at full price once spent.</summary>
    public static async Task<string> PutProgramAsync(HttpClient admin, string budget)
    {
        var id = "program-" + Guid.NewGuid().ToString("N")[..12];
        var body = $$"""{"share_bps": 4000, "budget_per_period": "{{budget}}", "on_exhausted": "full_price"}""";
        await (await admin.PutAsync($"admin/subsidies/{id}", new StringContent(body, Encoding.UTF8, "application/json"))).ReadJsonAsync();
        return id;
    }

    /// <summary>
    /// The money of one request on the billing server's node (region north: prompt 1.00, completion 1.50 per million)
    /// for a tenant on list price with a 40% program: each line rounded once.
    /// </summary>
    public static (Money List, Money Subsidy, Money Due) Expected(int promptTokens, int completionTokens)
    {
        var prompt = Pricing.Amount(promptTokens, new Money(1_000_000));
        var completion = Pricing.Amount(completionTokens, new Money(1_500_000));
        var subsidy = Pricing.Share(prompt, 4000) + Pricing.Share(completion, 4000);
        return (prompt + completion, subsidy, prompt + completion - subsidy);
    }

    /// <summary>
    /// The program as the admin API shows it once it holds nothing: a tenant returns the block its jobs drew on after
    /// it stayed idle for a second, and only then does the program count what they spent (bounded wait).
    /// </summary>
    public static async Task<JsonNode> ProgramSettledAsync(HttpClient admin, string program)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var shown = await (await admin.GetAsync($"admin/subsidies/{program}")).ReadJsonAsync();
            if (shown["reserved"]!.GetValue<string>() == "0.000000" || DateTime.UtcNow > deadline)
            {
                return shown;
            }

            await Task.Delay(50);
        }
    }

    public static JsonNode Row(JsonNode rows, string field, string value) =>
        rows.AsArray().SingleOrDefault(r => r![field]!.GetValue<string>() == value) ?? throw new Xunit.Sdk.XunitException($"No row {field}={value} in {rows.ToJsonString()}");

    /// <summary>How much the revenue row of the demo model in region north grew from one overview to the next.</summary>
    public static (long Tokens, Money List, Money Discount, Money Subsidy, Money Due) RevenueDelta(JsonNode before, JsonNode after)
    {
        var (b, a) = (North(before), North(after));
        return (a.Tokens - b.Tokens, a.List - b.List, a.Discount - b.Discount, a.Subsidy - b.Subsidy, a.Due - b.Due);
    }

    private static (long Tokens, Money List, Money Discount, Money Subsidy, Money Due) North(JsonNode overview)
    {
        var row = overview["revenue"]!.AsArray().SingleOrDefault(r => r!["model"]!.GetValue<string>() == TokenGridServer.Model
            && r["region"]?.GetValue<string>() == BillingServerFixtureBase.NodeRegion);
        return row is null
            ? (0, Money.Zero, Money.Zero, Money.Zero, Money.Zero)
            : (row["tokens"]!.GetValue<long>(), Parse(row["list"]!), Parse(row["discount"]!), Parse(row["subsidy"]!), Parse(row["amount_due"]!));
    }

    private static Money Parse(JsonNode amount) => Money.TryParse(amount.GetValue<string>(), out var money) ? money : throw new FormatException(amount.ToJsonString());
}
