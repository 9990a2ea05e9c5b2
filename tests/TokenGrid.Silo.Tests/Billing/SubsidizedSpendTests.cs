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

    [Fact]
    public async Task Two_choices_that_fill_the_spend_cap_together_are_answered_and_settle_leaving_nothing_held()
    {
        // The audit's case at this card's prices: a program paying half, max_tokens 10 at 2.00 per million (the dearest
        // region) and a cap of 24 micros, which the two choices fill together with less left than either costs. Each
        // choice's job repeats its group's admission; priced again it was refused as over the cap (429), and having
        // nothing to settle its reservation, the tenant's two slots and the program's block stayed held for good.
        using var admin = server.Client(TokenGridServer.AdminKey);
        var program = await PutProgramAsync(admin, "1", "refuse", shareBps: 5000);
        var (tenant, key) = await server.CreateTenantAsync(new { subsidy_program = program, spend_cap = "0.000024", max_concurrent_jobs = 2 });
        using var client = server.Client(key);

        var reply = await (await client.PostJsonAsync("v1/chat/completions", new
        {
            model = "demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 10, n = 2,
        })).ReadJsonAsync();

        Assert.Equal(2, reply["choices"]!.AsArray().Count);
        // The case holds: the cap covers both choices' most possible cost to the tenant, but not one more of either.
        var prompt = Pricing.Amount(reply["usage"]!["prompt_tokens"]!.GetValue<int>(), new Money(1_000_000));
        var completion = Pricing.Amount(10, new Money(2_000_000));
        var second = completion - Pricing.Share(completion, 5000);
        var first = prompt - Pricing.Share(prompt, 5000) + second;
        Assert.InRange(24, (first + second).Micros, (first + second + second).Micros - 1);

        var ledger = (await (await admin.GetAsync($"admin/tenants/{tenant}/ledger?after=0&limit=100")).ReadJsonAsync())["entries"]!
            .AsArray().Select(e => e!.AsObject()).Where(e => e["kind"]!.GetValue<string>() is "reserve" or "charge" or "refund").ToList();
        Assert.All(ledger.GroupBy(e => e["job_id"]!.GetValue<string>()), job =>
        {
            var held = job.Single(e => e["kind"]!.GetValue<string>() == "reserve");
            var settled = job.Where(e => e["kind"]!.GetValue<string>() is "charge" or "refund").ToList();
            Assert.Single(settled, e => e["kind"]!.GetValue<string>() == "charge");
            Assert.Equal(held["tokens"]!.GetValue<long>(), settled.Sum(e => e["tokens"]!.GetValue<long>()));
            Assert.Equal(held["spend_micros"]!.GetValue<long>(), settled.Sum(e => e["spend_micros"]!.GetValue<long>()));
        });
        Assert.Equal(2, ledger.Count(e => e["kind"]!.GetValue<string>() == "reserve"));
        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal((0L, 0), (usage["reserved"]!.GetValue<long>(), usage["open_jobs"]!.GetValue<int>()));
        var shown = await SpendSetup.ProgramSettledAsync(admin, program);
        Assert.Equal("0.000000", shown["reserved"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_429_of_a_group_over_the_spend_cap_states_what_the_whole_group_may_cost()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var program = await PutProgramAsync(admin, "1", "full_price", shareBps: 3333);
        var (_, key) = await server.CreateTenantAsync(new { subsidy_program = program, spend_cap = "0.000001" });
        using var client = server.Client(key);

        var amounts = new List<Money>();
        foreach (var n in new[] { 1, 2, 3 })
        {
            var problem = await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Spend more please", max_tokens = 400, n }))
                .AssertProblemAsync(HttpStatusCode.TooManyRequests);
            var detail = problem["detail"]!.GetValue<string>();
            Assert.Contains("can never be admitted; lower max tokens or n", detail);
            var match = System.Text.RegularExpressions.Regex.Match(detail, @"may cost up to (?<amount>[0-9.]+) ");
            Assert.True(match.Success, detail);
            amounts.Add(Money.TryParse(match.Groups["amount"].Value, out var amount) ? amount : throw new FormatException(detail));
        }

        // Each further choice adds its completion (the prompt is the first choice's only): the group's figure, not one choice's.
        Assert.True(amounts[1] > amounts[0], string.Join(", ", amounts));
        Assert.Equal(amounts[1] - amounts[0], amounts[2] - amounts[1]);
    }

    private static async Task<string> PutProgramAsync(HttpClient admin, string budget, string onExhausted, int shareBps = 4000)
    {
        var id = "program-" + Guid.NewGuid().ToString("N")[..12];
        var body = $$"""{"share_bps": {{shareBps}}, "budget_per_period": "{{budget}}", "on_exhausted": "{{onExhausted}}"}""";
        await (await admin.PutAsync($"admin/subsidies/{id}", new StringContent(body, Encoding.UTF8, "application/json"))).ReadJsonAsync();
        return id;
    }
}
