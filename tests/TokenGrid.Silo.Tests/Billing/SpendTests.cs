using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(BillingServerCollection.Name)]
public sealed class SpendTests(BillingServerFixture fixture) : SpendSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresSpendTests(PostgresBillingServerFixture fixture) : SpendSuite(fixture.Server);

/// <summary>
/// Money over HTTP on one profile: a tenant's billing settings, the spend cap at admission, and the charge in money
/// of a finished request, priced where its tokens were made (the billing server's node is in region "north").
/// </summary>
public abstract class SpendSuite(TokenGridServer server)
{
    [Fact]
    public async Task A_tenants_billing_settings_round_trip_and_each_bad_one_is_a_400_naming_it()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (id, _) = await server.CreateTenantAsync(new
        {
            spend_cap = "12.5",
            home_region = "west",
            plan = new { name = "partner", discount_basis_points = 1000, negotiated = new[] { new { model = "demo", direction = "prompt", per_million = "0.5" } } },
        });

        var created = (await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync())["budget"]!;
        var patched = (await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { spend_cap = "20" } })).ReadJsonAsync())["budget"]!;

        Assert.Equal(("12.500000", "west", "partner", 1000), (
            created["spend_cap"]!.GetValue<string>(), created["home_region"]!.GetValue<string>(),
            created["plan"]!["name"]!.GetValue<string>(), created["plan"]!["discount_basis_points"]!.GetValue<int>()));
        Assert.Equal("0.500000", created["plan"]!["negotiated"]![0]!["per_million"]!.GetValue<string>());
        Assert.Equal(("20.000000", "partner"), (patched["spend_cap"]!.GetValue<string>(), patched["plan"]!["name"]!.GetValue<string>()));

        foreach (var (budget, expected) in new (object Budget, string Expected)[]
        {
            (new { spend_cap = 12 }, "spend_cap"),
            (new { spend_cap = "1.0000001" }, "spend_cap"),
            (new { spend_cap = "-1" }, "spend_cap"),
            (new { plan = new { name = "p", discount_basis_points = 10_001, negotiated = Array.Empty<object>() } }, "plan.discount_basis_points must be"),
            (new { home_region = " " }, "home_region"),
            (new { subsidy_program = "no-such-program" }, "budget.subsidy_program"),
        })
        {
            var problem = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget })).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains(expected, problem.ToJsonString());
        }
    }

    /// <summary>
    /// Every bad amount in a budget is 400 <c>invalid_value</c> naming its field: one too large for micros (once a 500),
    /// a 7th decimal (once <c>invalid_type</c>, "got a string"), and what the strict grammar refuses.
    /// </summary>
    [Theory]
    [InlineData("99999999999999999999999")]
    [InlineData("9999999999999999999999999999")]
    [InlineData("1.0000001")]
    [InlineData("+1")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("0001.5")]
    [InlineData("-0")]
    public async Task A_bad_amount_in_a_budget_is_a_400_invalid_value_naming_it(string amount)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (id, _) = await server.CreateTenantAsync();

        foreach (var (budget, param) in new (object Budget, string Param)[]
        {
            (new { spend_cap = amount }, "budget.spend_cap"),
            (new { plan = new { name = "p", discount_basis_points = 0, negotiated = new[] { new { model = "demo", direction = "prompt", per_million = amount } } } },
                "budget.plan.negotiated[0].per_million"),
        })
        {
            var patched = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
            var replaced = await (await admin.PutAsJsonAsync($"admin/tenants/{id}", new { budget })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");

            Assert.Equal((param, param), (patched["error"]!["param"]!.GetValue<string>(), replaced["error"]!["param"]!.GetValue<string>()));
            Assert.Contains("is not an amount", patched["detail"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_plan_is_checked_field_by_field_negotiated_defaulting_to_none_and_naming_only_catalog_models()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (id, _) = await server.CreateTenantAsync();

        // Without negotiated prices: none (the documented default), so a bad discount is the field named.
        var badDiscount = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { plan = new { name = "p", discount_basis_points = 20_000 } } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        var plain = (await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { plan = new { name = "p", discount_basis_points = 500 } } })).ReadJsonAsync())["budget"]!["plan"]!;

        // A negotiated price for a model the catalog does not have is refused, as the rate card refuses it.
        var unknown = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new
        {
            budget = new { plan = new { name = "p", discount_basis_points = 0, negotiated = new[] { new { model = "nope", direction = "prompt", per_million = "1" } } } },
        })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        var created = await (await admin.PostAsJsonAsync("admin/tenants", new
        {
            id = $"t-{Guid.NewGuid():N}"[..20],
            budget = new { plan = new { name = "p", discount_basis_points = 0, negotiated = new[] { new { model = "demo", direction = "completion", per_million = "1" }, new { model = "nope", direction = "prompt", per_million = "1" } } } },
        })).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");

        Assert.Equal("budget.plan.discount_basis_points", badDiscount["error"]!["param"]!.GetValue<string>());
        Assert.Equal(("p", 500, 0), (plain["name"]!.GetValue<string>(), plain["discount_basis_points"]!.GetValue<int>(), plain["negotiated"]!.AsArray().Count));
        Assert.Equal("budget.plan.negotiated[0].model", unknown["error"]!["param"]!.GetValue<string>());
        Assert.Equal("budget.plan.negotiated[1].model", created["error"]!["param"]!.GetValue<string>());
        Assert.Contains("'nope' is not a model of the catalog", unknown["detail"]!.GetValue<string>());
        Assert.Equal("p", (await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync())["budget"]!["plan"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_request_the_whole_spend_cap_cannot_cover_is_a_final_429_naming_the_money_limit()
    {
        var (_, key) = await server.CreateTenantAsync(new { spend_cap = "0.0001" });
        using var client = server.Client(key);

        using var response = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello", max_tokens = 100 });
        var problem = await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "request_exceeds_spend_cap");

        Assert.Contains("spend cap is 0.000100 USD", problem["detail"]!.GetValue<string>());
        Assert.Equal("insufficient_quota", problem["error"]!["type"]!.GetValue<string>());
        Assert.Equal(["false"], response.Headers.GetValues("x-should-retry"));
        Assert.Null(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_finished_request_is_charged_in_money_where_its_tokens_were_made_and_the_auditor_reads_it()
    {
        var (id, key) = await server.CreateTenantAsync(new
        {
            spend_cap = "1",
            home_region = "west",
            plan = new { name = "partner", discount_basis_points = 1000, negotiated = Array.Empty<object>() },
        });
        using var client = server.Client(key);

        var completion = await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello there", max_tokens = 9, temperature = 0 })).ReadJsonAsync();
        var usage = completion["usage"]!;
        long prompt = usage["prompt_tokens"]!.GetValue<int>(), generated = usage["completion_tokens"]!.GetValue<int>();

        using var auditor = server.Client(BillingServerFixtureBase.AuditorKey);
        var ledger = (await (await auditor.GetAsync($"admin/tenants/{id}/ledger")).ReadJsonAsync())["entries"]!.AsArray();
        var charge = ledger.Single(e => e!["kind"]!.GetValue<string>() == "charge")!;
        var priced = charge["priced"]!;
        Assert.Equal(("north", "west", "USD"), (priced["place"]!["region"]!.GetValue<string>(), priced["home_region"]!.GetValue<string>(), priced["currency"]!.GetValue<string>()));

        // The rounding rule, worked out here on its own: list at 1.00 (prompt) and 1.50 (completion, north), 10% off.
        var lines = priced["lines"]!.AsArray();
        var expected = new[] { (prompt, 1_000_000L), (generated, 1_500_000L) }.Select(x =>
        {
            var list = Pricing.Amount(x.Item1, new Money(x.Item2));
            var discount = Pricing.Share(list, 1000);
            return (x.Item1, new Money(x.Item2).ToString(), list.ToString(), discount.ToString(), (list - discount).ToString());
        }).ToList();
        Assert.Equal(expected, lines.Select(l => (
            l!["tokens"]!.GetValue<long>(), l["unit_price"]!.GetValue<string>(), l["list"]!.GetValue<string>(),
            l["discount"]!.GetValue<string>(), l["tenant"]!.GetValue<string>())));
        var spent = expected.Sum(e => Money.TryParse(e.Item5, out var m) ? m.Micros : throw new FormatException(e.Item5));
        Assert.Equal(spent, charge["spend_micros"]!.GetValue<long>());
        Assert.Equal(spent, ledger[^1]!["spend_charged_after"]!.GetValue<long>());
        Assert.Equal(0, ledger[^1]!["spend_reserved_after"]!.GetValue<long>());

        // The auditor reads; it cannot change anything: its valid key is refused with 403 forbidden (not 401 invalid_api_key).
        await (await auditor.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { spend_cap = "100" } })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PutAsJsonAsync("admin/prices", new { currency = "USD", prices = Array.Empty<object>() })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PostAsync("admin/periods/2025-01/close", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        using var admin = server.Client(TokenGridServer.AdminKey);
        Assert.Equal("1.000000", (await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync())["budget"]!["spend_cap"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tenant_reads_its_spend_threshold_events_as_the_auditor_does()
    {
        var (id, key) = await server.CreateTenantAsync(new { spend_cap = "0.000020" });
        using var client = server.Client(key);
        using var auditor = server.Client(BillingServerFixtureBase.AuditorKey);

        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 8, temperature = 0 })).ReadJsonAsync();
        var ledger = (await (await auditor.GetAsync($"admin/tenants/{id}/ledger")).ReadJsonAsync())["entries"]!.AsArray();
        var spent = ledger[^1]!["spend_charged_after"]!.GetValue<long>();
        var own = await (await client.GetAsync("v1/billing/events")).ReadJsonAsync();
        var audited = await (await auditor.GetAsync($"admin/tenants/{id}/billing/events")).ReadJsonAsync();

        var expected = new[] { 50, 80, 100 }.Where(p => spent * 100 >= 20L * p).ToArray();
        Assert.Equal(expected, own["data"]!.AsArray().Select(e => e!["percent"]!.GetValue<int>()));
        Assert.Equal(own.ToJsonString(), audited.ToJsonString());
        Assert.All(own["data"]!.AsArray(), e => Assert.Equal(("billing.spend_threshold", "0.000020"), (e!["object"]!.GetValue<string>(), e["cap"]!.GetValue<string>())));
        await (await auditor.GetAsync("admin/tenants/no-such-tenant/billing/events")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
