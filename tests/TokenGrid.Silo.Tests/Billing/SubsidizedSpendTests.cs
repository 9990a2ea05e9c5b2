using System.Net;
using System.Text;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Dashboard;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(BillingServerCollection.Name)]
public sealed class SubsidizedSpendTests(BillingServerFixture fixture) : SubsidizedSpendSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresSubsidizedSpendTests(PostgresBillingServerFixture fixture) : SubsidizedSpendSuite(fixture.Server);

/// <summary>
/// A subsidy program paying for its tenant's requests end to end, on one profile: the program's budget shows its share
/// of each line spent, nothing stays reserved, and a program out of budget that refuses makes its tenants' requests 429.
/// </summary>
public abstract class SubsidizedSpendSuite(TokenGridServer server)
{
    [Fact]
    public async Task A_finished_request_charges_the_program_its_share_of_each_line_and_holds_nothing()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var program = await PutProgramAsync(admin, "1", "full_price");
        var (_, key) = await server.CreateTenantAsync(new { subsidy_program = program });
        using var client = server.Client(key);

        var usage = (await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello there", max_tokens = 9, temperature = 0 })).ReadJsonAsync())["usage"]!;

        // The rounding rule on its own: 40% of each line at list price, 1.00 (prompt) and 1.50 (completion, north).
        var paid = (Pricing.Share(Pricing.Amount(usage["prompt_tokens"]!.GetValue<int>(), new Money(1_000_000)), 4000)
            + Pricing.Share(Pricing.Amount(usage["completion_tokens"]!.GetValue<int>(), new Money(1_500_000)), 4000)).Micros;
        Assert.True(paid > 0);

        var shown = await SpendSetup.ProgramSettledAsync(admin, program);
        Assert.Equal((new Money(paid).ToString(), "0.000000", (new Money(1_000_000) - new Money(paid)).ToString()), (
            shown["spent"]!.GetValue<string>(), shown["reserved"]!.GetValue<string>(), shown["remaining"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_program_out_of_budget_that_refuses_makes_its_tenants_requests_429_and_holds_nothing()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var program = await PutProgramAsync(admin, "0.000001", "refuse");
        var (_, key) = await server.CreateTenantAsync(new { subsidy_program = program });
        using var client = server.Client(key);

        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello", max_tokens = 100 }))
            .AssertProblemAsync(HttpStatusCode.TooManyRequests, "insufficient_quota");

        var shown = await (await admin.GetAsync($"admin/subsidies/{program}")).ReadJsonAsync();
        Assert.Equal(("0.000000", "0.000000"), (shown["spent"]!.GetValue<string>(), shown["reserved"]!.GetValue<string>()));
    }

    private static async Task<string> PutProgramAsync(HttpClient admin, string budget, string onExhausted)
    {
        var id = "program-" + Guid.NewGuid().ToString("N")[..12];
        var body = $$"""{"share_bps": 4000, "budget_per_period": "{{budget}}", "on_exhausted": "{{onExhausted}}"}""";
        await (await admin.PutAsync($"admin/subsidies/{id}", new StringContent(body, Encoding.UTF8, "application/json"))).ReadJsonAsync();
        return id;
    }
}
