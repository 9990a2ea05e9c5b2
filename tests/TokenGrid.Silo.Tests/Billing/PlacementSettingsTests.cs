using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

/// <summary>On the local profile, also a cheapest tenant's request end to end (its charge shows where it ran).</summary>
[Collection(BillingServerCollection.Name)]
public sealed class PlacementSettingsTests(BillingServerFixture fixture) : PlacementSettingsSuite(fixture.Server)
{
    [Fact]
    public async Task A_cheapest_tenants_request_is_charged_where_its_tokens_were_made()
    {
        var (id, key) = await fixture.Server.CreateTenantAsync(new { placement = "cheapest", cheapest_max_extra_wait = "00:00:00" });
        using var client = fixture.Server.Client(key);

        var completion = await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello", max_tokens = 4, temperature = 0 })).ReadJsonAsync();

        Assert.NotNull(completion["usage"]);
        using var auditor = fixture.Server.Client(BillingServerFixtureBase.AuditorKey);
        var ledger = (await (await auditor.GetAsync($"admin/tenants/{id}/ledger")).ReadJsonAsync())["entries"]!.AsArray();
        var charge = ledger.Single(e => e!["kind"]!.GetValue<string>() == "charge")!;
        Assert.Equal(BillingServerFixtureBase.NodeRegion, charge["priced"]!["place"]!["region"]!.GetValue<string>());
    }
}

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresPlacementSettingsTests(PostgresBillingServerFixture fixture) : PlacementSettingsSuite(fixture.Server);

/// <summary>
/// A tenant's cost-aware placement over the admin API on one profile: <c>placement</c> and
/// <c>cheapest_max_extra_wait</c> set by PATCH and PUT, and a 400 naming the field for each bad value.
/// </summary>
public abstract class PlacementSettingsSuite(TokenGridServer server)
{
    [Fact]
    public async Task Placement_settings_round_trip_through_patch_and_put_and_each_bad_one_is_a_400_naming_it()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (id, _) = await server.CreateTenantAsync(new { home_region = "west" });

        var created = await BudgetAsync(await admin.GetAsync($"admin/tenants/{id}"));
        var patched = await BudgetAsync(await admin.PatchAsJsonAsync($"admin/tenants/{id}",
            new { budget = new { placement = "cheapest", cheapest_max_extra_wait = "00:00:12.5" } }));
        var kept = await BudgetAsync(await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { spend_cap = "3" } }));
        var put = await BudgetAsync(await admin.PutAsJsonAsync($"admin/tenants/{id}", new { budget = new { placement = "cheapest" } }));
        var reset = await BudgetAsync(await admin.PutAsJsonAsync($"admin/tenants/{id}", new { budget = new { } }));

        Assert.Equal(("any", "00:00:05"), Placement(created));
        Assert.Equal(("cheapest", "00:00:12.5000000"), Placement(patched));
        Assert.Equal(("cheapest", "00:00:12.5000000"), Placement(kept));
        Assert.Equal(("cheapest", "00:00:05"), Placement(put));
        Assert.Equal(("any", "00:00:05"), Placement(reset));

        foreach (var (budget, expected) in new (object Budget, string Expected)[]
        {
            (new { placement = "nearest" }, "placement"),
            (new { placement = 7 }, "placement"),
            (new { cheapest_max_extra_wait = "5s" }, "cheapest_max_extra_wait"),
            (new { cheapest_max_extra_wait = 5 }, "cheapest_max_extra_wait"),
            (new { cheapest_max_extra_wait = "-00:00:01" }, "cheapest_max_extra_wait"),
            (new { cheapest_max_extra_wait = "01:00:01" }, "cheapest_max_extra_wait"),
        })
        {
            var problem = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget })).AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains(expected, problem["detail"]!.GetValue<string>());
        }

        Assert.Equal(("any", "00:00:05"), Placement(await BudgetAsync(await admin.GetAsync($"admin/tenants/{id}"))));
    }

    private static async Task<JsonNode> BudgetAsync(HttpResponseMessage response) => (await response.ReadJsonAsync())["budget"]!;

    private static (string, string) Placement(JsonNode budget) =>
        (budget["placement"]!.GetValue<string>(), budget["cheapest_max_extra_wait"]!.GetValue<string>());
}
