using System.Net;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(BillingServerCollection.Name)]
public sealed class FlowsTests(BillingServerFixture fixture) : FlowsSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresFlowsTests(PostgresBillingServerFixture fixture) : FlowsSuite(fixture.Server);

/// <summary>
/// The oversight view over HTTP on one profile: a tenant's priced request shows in <c>GET /admin/flows</c> as flowing
/// from the region that made its tokens (the billing server's node, "north") to the tenant's home region, and the flows
/// of its demand region add up to its statement exactly.
/// </summary>
public abstract class FlowsSuite(TokenGridServer server)
{
    [Fact]
    public async Task A_tenants_tokens_flow_from_the_creation_region_to_its_home_region_and_add_up_to_its_statement()
    {
        var home = "home-" + Guid.NewGuid().ToString("N")[..8];
        var (id, key) = await server.CreateTenantAsync(new { home_region = home });
        using var client = server.Client(key);
        using var auditor = server.Client(BillingServerFixtureBase.AuditorKey);
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Where am I made?", max_tokens = 6, temperature = 0 })).ReadJsonAsync();
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "And again", max_tokens = 4, temperature = 0 })).ReadJsonAsync();

        var flows = await (await auditor.GetAsync("admin/flows")).ReadJsonAsync();
        var period = flows["period"]!.GetValue<string>();
        var statement = await (await auditor.GetAsync($"admin/tenants/{id}/statements/{period}")).ReadJsonAsync();

        var rows = flows["data"]!.AsArray().Where(r => r!["demand_region"]?.GetValue<string>() == home).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Equal(("north", "demo", "USD", 1L), (
            r!["creation_region"]!.GetValue<string>(), r["model"]!.GetValue<string>(), r["currency"]!.GetValue<string>(), r["tenants"]!.GetValue<long>())));
        var total = statement["totals"]!.AsArray().Single()!;
        Assert.Equal(total["tokens"]!.GetValue<long>(), rows.Sum(r => r!["prompt_tokens"]!.GetValue<long>() + r["completion_tokens"]!.GetValue<long>()));
        foreach (var (flow, statementField) in new[] { ("list", "list"), ("discount", "discount"), ("subsidy", "subsidy"), ("amount_due", "amount_due") })
        {
            Assert.Equal(Micros(total[statementField]!.GetValue<string>()), rows.Sum(r => Micros(r![flow]!.GetValue<string>())));
        }
    }

    [Fact]
    public async Task Only_the_auditor_and_admin_read_flows_and_a_bad_period_is_a_400_naming_it()
    {
        var (_, key) = await server.CreateTenantAsync();
        using var tenant = server.Client(key);
        using var admin = server.Client(TokenGridServer.AdminKey);

        await (await tenant.GetAsync("admin/flows")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        var problem = await (await admin.GetAsync("admin/flows?period=2026-13")).AssertProblemAsync(HttpStatusCode.BadRequest);
        var past = await (await admin.GetAsync("admin/flows?period=2001-01")).ReadJsonAsync();

        Assert.Equal("period", problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal(("2001-01", 0), (past["period"]!.GetValue<string>(), past["data"]!.AsArray().Count));
    }

    private static long Micros(string amount) => Money.TryParse(amount, out var money) ? money.Micros : throw new FormatException(amount);
}
