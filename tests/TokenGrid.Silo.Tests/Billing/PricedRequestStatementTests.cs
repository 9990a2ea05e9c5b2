using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(BillingServerCollection.Name)]
public sealed class PricedRequestStatementTests(BillingServerFixture fixture) : PricedRequestStatementSuite(fixture.Server);

[Collection(PostgresBillingServerCollection.Name)]
public sealed class PostgresPricedRequestStatementTests(PostgresBillingServerFixture fixture) : PricedRequestStatementSuite(fixture.Server);

/// <summary>End to end: real requests, priced at admission and charged where their tokens were made, make the statement.</summary>
public abstract class PricedRequestStatementSuite(TokenGridServer server)
{
    [Fact]
    public async Task Real_requests_add_up_on_the_open_statement_to_the_micro()
    {
        var (id, key) = await server.CreateTenantAsync(new
        {
            spend_cap = "1", home_region = "west", plan = new { name = "partner", discount_basis_points = 1000, negotiated = Array.Empty<object>() },
        });
        using var client = server.Client(key);
        for (var i = 0; i < 3; i++)
        {
            await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = $"Hello {i}", max_tokens = 5 + i, temperature = 0 })).ReadJsonAsync();
        }

        using var auditor = server.Client(BillingServerFixtureBase.AuditorKey);
        var charges = (await (await auditor.GetAsync($"admin/tenants/{id}/ledger")).ReadJsonAsync())["entries"]!.AsArray()
            .Where(e => e!["kind"]!.GetValue<string>() == "charge").Select(e => e!["priced"]!).ToList();
        Assert.Equal(3, charges.Count);

        var period = StatementPeriod.Of(DateTimeOffset.UtcNow).ToString();
        var statement = await (await client.GetAsync($"v1/billing/statements/{period}")).ReadJsonAsync();
        Assert.Equal(
            statement.ToJsonString(),
            (await (await auditor.GetAsync($"admin/tenants/{id}/statements/{period}")).ReadJsonAsync()).ToJsonString());

        // One line per direction (one price, one region): each sums the charges' own amounts.
        var lines = statement["lines"]!.AsArray();
        Assert.Equal([("prompt", "north"), ("completion", "north")], lines.Select(l => (l!["direction"]!.GetValue<string>(), l["region"]!.GetValue<string>())));
        foreach (var line in lines)
        {
            var direction = line!["direction"]!.GetValue<string>();
            var parts = charges.SelectMany(c => c!["lines"]!.AsArray()).Where(l => l!["direction"]!.GetValue<string>() == direction).ToList();
            foreach (var field in new[] { ("list", "list"), ("discount", "discount"), ("subsidy", "subsidy"), ("amount_due", "tenant") })
            {
                Assert.Equal(Sum(parts, field.Item2), line[field.Item1]!.GetValue<string>());
            }

            Assert.Equal(parts.Sum(p => p!["tokens"]!.GetValue<long>()), line["tokens"]!.GetValue<long>());
        }

        var spent = (await (await auditor.GetAsync($"admin/tenants/{id}/ledger")).ReadJsonAsync())["entries"]!.AsArray()[^1]!["spend_charged_after"]!.GetValue<long>();
        Assert.Equal(new Money(spent).ToString(), statement["totals"]!.AsArray().Single()!["amount_due"]!.GetValue<string>());
    }

    private static string Sum(IEnumerable<JsonNode?> lines, string field) => new Money(lines.Sum(l =>
        Money.TryParse(l![field]!.GetValue<string>(), out var money) ? money.Micros : throw new FormatException(l[field]!.ToJsonString()))).ToString();
}
