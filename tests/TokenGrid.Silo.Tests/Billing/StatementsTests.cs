using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.VisualBasic.FileIO;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(ServerCollection.Name)]
public sealed class StatementsTests(ServerFixture fixture) : StatementsSuite(fixture.Server);

[Collection(PostgresServerCollection.Name)]
public sealed class PostgresStatementsTests(PostgresServerFixture fixture) : StatementsSuite(fixture.Server);

/// <summary>
/// Statements over HTTP on one profile: priced charges are written to tenants' ledgers through the server's tenant store,
/// then read back as statements (JSON and CSV), closed, and compared with the charges to the micro. The server is shared:
/// each test has its own tenants, and only the closing test closes a period (one no other test writes to).
/// </summary>
public abstract class StatementsSuite(TokenGridServer server)
{
    private static StatementPeriod Current => StatementPeriod.Of(DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_tenant_reads_its_open_statement_as_JSON_and_as_CSV_with_the_same_totals()
    {
        var (tenantId, key) = await server.CreateTenantAsync();
        var start = Current.Start;
        var charges = await PricedLedger.AppendAsync(server.Services, tenantId, [
            PricedLedger.Charge(tenantId, 0, start.AddSeconds(1), 1_000, 2_000),
            PricedLedger.Charge(tenantId, 0, start.AddSeconds(2), 3_000, 4_000, completionPrice: "0.45", version: 2, subsidyBps: 4_000),
            PricedLedger.Charge(tenantId, 0, start.AddSeconds(3), 7, 9, region: "eu-west, \"b\"", discountBps: 1_250),
        ]);
        using var tenant = server.Client(key);

        var json = await (await tenant.GetAsync($"v1/billing/statements/{Current}")).ReadJsonAsync();
        Assert.Equal(("billing.statement", tenantId, Current.ToString(), "open"), (
            json["object"]!.GetValue<string>(), json["tenant_id"]!.GetValue<string>(), json["period"]!.GetValue<string>(), json["status"]!.GetValue<string>()));
        var lines = json["lines"]!.AsArray().Select(l => l!.AsObject()).ToList();

        // The price change gives the completion two lines; the prompt tokens at one price make one.
        Assert.Equal(
            [("prompt", "eu-west, \"b\"", "0.150000", 7L), ("prompt", "north", "0.150000", 4_000L), ("completion", "eu-west, \"b\"", "0.600000", 9L),
             ("completion", "north", "0.450000", 4_000L), ("completion", "north", "0.600000", 2_000L)],
            lines.Select(l => (l["direction"]!.GetValue<string>(), l["region"]!.GetValue<string>(), l["unit_price"]!.GetValue<string>(), l["tokens"]!.GetValue<long>())));
        var total = json["totals"]!.AsArray().Single()!;
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Tenant.Micros)), total["amount_due"]!.GetValue<string>());
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Subsidy.Micros)), total["subsidy"]!.GetValue<string>());
        Assert.Equal(charges.Sum(c => c.Tokens), total["tokens"]!.GetValue<long>());

        // The same statement as CSV, by query or by Accept header.
        var byQuery = await tenant.GetAsync($"v1/billing/statements/{Current}?format=csv");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/billing/statements/{Current}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var byHeader = await tenant.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        Assert.Equal("text/csv", byQuery.Content.Headers.ContentType?.MediaType);
        var csv = await byQuery.Content.ReadAsStringAsync();
        Assert.Equal(csv, await byHeader.Content.ReadAsStringAsync());
        Assert.Contains("attachment", byQuery.Content.Headers.ContentDisposition?.ToString() ?? byQuery.Headers.GetValues("Content-Disposition").Single());

        // RFC 4180: every record ends in CRLF, no bare LF; a real CSV reader gets the JSON's values back.
        Assert.EndsWith("\r\n", csv);
        Assert.DoesNotContain("\n", csv.Replace("\r\n", "", StringComparison.Ordinal));
        var rows = ParseCsv(csv);
        Assert.Equal(
            ["tenant_id", "period", "status", "row", "model", "direction", "region", "currency", "tokens", "unit_price", "list", "discount", "subsidy", "amount_due", "late_from"],
            rows[0]);
        var records = rows.Skip(1).Select(r => rows[0].Zip(r).ToDictionary(p => p.First, p => p.Second)).ToList();
        Assert.Equal(lines.Count + 1, records.Count);
        foreach (var (line, record) in lines.Zip(records))
        {
            Assert.Equal("line", record["row"]);
            foreach (var field in new[] { "model", "direction", "region", "currency", "unit_price", "list", "discount", "subsidy", "amount_due" })
            {
                Assert.Equal(line[field]!.GetValue<string>(), record[field]);
            }

            Assert.Equal(line["tokens"]!.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture), record["tokens"]);
        }

        var totalRow = records[^1];
        Assert.Equal(("total", tenantId, "open"), (totalRow["row"], totalRow["tenant_id"], totalRow["status"]));
        foreach (var field in new[] { "currency", "list", "discount", "subsidy", "amount_due" })
        {
            Assert.Equal(total[field]!.GetValue<string>(), totalRow[field]);
        }

        Assert.Matches("^[0-9]+\\.[0-9]{6}$", totalRow["amount_due"]);
    }

    [Fact]
    public async Task A_tenant_sees_only_its_own_statements_and_the_auditor_views_any()
    {
        var (first, firstKey) = await server.CreateTenantAsync();
        var (second, secondKey) = await server.CreateTenantAsync();
        await PricedLedger.AppendAsync(server.Services, first, [PricedLedger.Charge(first, 0, Current.Start.AddMinutes(1), 100_000, 200_000)]);
        await PricedLedger.AppendAsync(server.Services, second, [PricedLedger.Charge(second, 0, Current.Start.AddMinutes(1), 1, 2, model: "other")]);
        using var firstClient = server.Client(firstKey);
        using var secondClient = server.Client(secondKey);
        using var admin = server.Client(TokenGridServer.AdminKey);

        var own = await (await secondClient.GetAsync($"v1/billing/statements/{Current}")).ReadJsonAsync();
        Assert.Equal(["other", "other"], own["lines"]!.AsArray().Select(l => l!["model"]!.GetValue<string>()));
        Assert.Equal(second, own["tenant_id"]!.GetValue<string>());
        var listed = await (await secondClient.GetAsync("v1/billing/statements")).ReadJsonAsync();
        Assert.All(listed["data"]!.AsArray(), s => Assert.Equal(second, s!["tenant_id"]!.GetValue<string>()));
        Assert.Equal(Current.ToString(), listed["data"]!.AsArray()[^1]!["period"]!.GetValue<string>());

        await (await secondClient.GetAsync($"admin/tenants/{first}/statements/{Current}")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await secondClient.GetAsync($"admin/tenants/{first}/statements")).AssertProblemAsync(HttpStatusCode.Unauthorized);

        var asAdmin = await (await admin.GetAsync($"admin/tenants/{first}/statements/{Current}")).ReadJsonAsync();
        var asTenant = await (await firstClient.GetAsync($"v1/billing/statements/{Current}")).ReadJsonAsync();
        Assert.Equal(asTenant.ToJsonString(), asAdmin.ToJsonString());
        await (await admin.GetAsync($"admin/tenants/t-nobody-{Guid.NewGuid():N}"[..30] + $"/statements/{Current}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("text/csv;q=0, application/json", false)]
    [InlineData("text/csv;q=0, */*", false)]
    [InlineData("text/csv;q=0.1, application/json", false)]
    [InlineData("application/json;q=0.5, text/csv;q=0.9", true)]
    [InlineData("text/csv; header=present", true)]
    [InlineData("application/json, text/csv", true)]
    [InlineData("*/*", false)]
    [InlineData("text/csv;q=0", false)]
    [InlineData("image/png", false)]
    public async Task The_statement_format_follows_the_qualities_of_Accept(string accept, bool csv)
    {
        var (_, key) = await server.CreateTenantAsync();
        using var tenant = server.Client(key);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/billing/statements/{Current}");
        request.Headers.TryAddWithoutValidation("Accept", accept);

        var response = await tenant.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(csv ? "text/csv" : "application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-1")]
    [InlineData("202612")]
    [InlineData("2026-12-01")]
    [InlineData("december")]
    [InlineData("9999-12")]
    public async Task A_bad_period_is_a_400_naming_period(string period)
    {
        var (tenantId, key) = await server.CreateTenantAsync();
        using var tenant = server.Client(key);
        using var admin = server.Client(TokenGridServer.AdminKey);

        foreach (var response in new[]
        {
            await tenant.GetAsync($"v1/billing/statements/{period}"),
            await admin.GetAsync($"admin/tenants/{tenantId}/statements/{period}"),
            await admin.PostAsync($"admin/periods/{period}/close", null),
        })
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
            Assert.Equal("period", problem["error"]!["param"]!.GetValue<string>());
            Assert.Contains("from 0001-01 to 9998-12", problem["detail"]!.GetValue<string>());
        }

        var format = await (await tenant.GetAsync($"v1/billing/statements/{Current}?format=xml")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("format", format["error"]!["param"]!.GetValue<string>());
        await (await tenant.GetAsync($"v1/billing/statements/{StatementPeriod.Of(Current.End)}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Closing_an_ended_month_stores_its_statements_immutably_and_closing_again_changes_nothing()
    {
        // 2025-03 is this test's month: no other test of the suite writes to it or closes it.
        var march = new DateTimeOffset(2025, 3, 10, 12, 0, 0, TimeSpan.Zero);
        var (tenantId, key) = await server.CreateTenantAsync();
        var charges = await PricedLedger.AppendAsync(server.Services, tenantId, [
            PricedLedger.Charge(tenantId, 0, march, 10_000, 20_000, subsidyBps: 4_000),
            PricedLedger.Charge(tenantId, 0, march.AddDays(1), 10_000, 20_000, completionPrice: "0.45", version: 2),
        ]);
        using var tenant = server.Client(key);
        using var admin = server.Client(TokenGridServer.AdminKey);

        var notEnded = await (await admin.PostAsync($"admin/periods/{Current}/close", null)).AssertProblemAsync(HttpStatusCode.Conflict, "period_not_ended");
        Assert.Equal("period", notEnded["error"]!["param"]!.GetValue<string>());
        Assert.Equal("open", (await (await tenant.GetAsync($"v1/billing/statements/{Current}")).ReadJsonAsync())["status"]!.GetValue<string>());
        var open = await (await tenant.GetAsync("v1/billing/statements/2025-03")).ReadJsonAsync();
        Assert.Equal("open", open["status"]!.GetValue<string>());

        var closed = await (await admin.PostAsync("admin/periods/2025-03/close", null)).ReadJsonAsync();
        Assert.Equal(("billing.period", "2025-03", "closed"), (closed["object"]!.GetValue<string>(), closed["period"]!.GetValue<string>(), closed["status"]!.GetValue<string>()));
        Assert.True(closed["statements"]!.GetValue<int>() >= 1);
        var stored = await (await tenant.GetAsync("v1/billing/statements/2025-03")).ReadJsonAsync();
        Assert.Equal("closed", stored["status"]!.GetValue<string>());
        Assert.Equal(closed["closed_at"]!.GetValue<DateTimeOffset>(), stored["closed_at"]!.GetValue<DateTimeOffset>());
        Assert.Equal(open["lines"]!.ToJsonString(), stored["lines"]!.ToJsonString());
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Tenant.Micros)), stored["totals"]!.AsArray().Single()!["amount_due"]!.GetValue<string>());

        // A charge dated in the closed month afterwards changes nothing stored (it is a late line of April's statement,
        // docs/billing.md "Late charges"); closing again answers the first close.
        await PricedLedger.AppendAsync(server.Services, tenantId, [PricedLedger.Charge(tenantId, 0, march.AddDays(2), 5, 5)]);
        Assert.Equal(stored.ToJsonString(), (await (await tenant.GetAsync("v1/billing/statements/2025-03")).ReadJsonAsync()).ToJsonString());
        Assert.Equal(closed.ToJsonString(), (await (await admin.PostAsync("admin/periods/2025-03/close", null)).ReadJsonAsync()).ToJsonString());

        // Both closes are audited; the second names the first as what was there before.
        var audited = (await (await admin.GetAsync("admin/audit?target=2025-03&action=period.close")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(2, audited.Count);
        Assert.Null(audited[0]!["before"]);
        Assert.Equal(audited[0]!["after"]!.ToJsonString(), audited[1]!["before"]!.ToJsonString());

        var listed = (await (await tenant.GetAsync("v1/billing/statements")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(
            [("2025-03", "closed"), ("2025-04", "open"), (Current.ToString(), "open")],
            listed.Select(s => (s!["period"]!.GetValue<string>(), s["status"]!.GetValue<string>())));
        Assert.Equal(
            [("2025-03", 5L), ("2025-03", 5L)],
            listed[1]!["lines"]!.AsArray().Select(l => (l!["late_from"]!.GetValue<string>(), l["tokens"]!.GetValue<long>())));
    }

    [Fact]
    public async Task Usage_shows_money_next_to_tokens_per_model_and_day()
    {
        var (tenantId, key) = await server.CreateTenantAsync();
        var now = DateTimeOffset.UtcNow;
        var charges = await PricedLedger.AppendAsync(server.Services, tenantId, [
            PricedLedger.Charge(tenantId, 0, now, 1_000, 2_000, discountBps: 1_000),
            PricedLedger.Charge(tenantId, 0, now, 3_000, 4_000, subsidyBps: 4_000),
        ]);
        using var tenant = server.Client(key);

        var usage = await (await tenant.GetAsync("v1/usage")).ReadJsonAsync();

        Assert.Equal("usage", usage["object"]!.GetValue<string>());
        Assert.NotNull(usage["quota"]);
        var day = Assert.Single(usage["daily"]!.AsArray())!;
        Assert.Equal(
            (DateOnly.FromDateTime(now.UtcDateTime).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "demo", 4_000L, 6_000L, "USD"),
            (day["day"]!.GetValue<string>(), day["model"]!.GetValue<string>(), day["prompt_tokens"]!.GetValue<long>(),
             day["completion_tokens"]!.GetValue<long>(), day["currency"]!.GetValue<string>()));
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Tenant.Micros)), day["amount_due"]!.GetValue<string>());
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Subsidy.Micros)), day["subsidy"]!.GetValue<string>());
        Assert.Equal(Micros(charges.Sum(c => c.Priced!.Lines.Sum(l => l.Discount.Micros))), day["discount"]!.GetValue<string>());

        // The ledger page shows each charge's money as stored.
        var ledger = await server.LedgerOfJobAsync(tenantId, charges[1].JobId);
        var priced = Assert.Single(ledger)["priced"]!;
        Assert.Equal(
            charges[1].Priced!.Lines.Select(l => l.Tenant.ToString()),
            priced["lines"]!.AsArray().Select(l => l!["tenant"]!.GetValue<string>()));
        Assert.Equal("public-sector", priced["program_id"]!.GetValue<string>());
    }

    private static string Micros(long micros) => new TokenGrid.Abstractions.Billing.Money(micros).ToString();

    /// <summary>Parses RFC 4180 text with .NET's own CSV reader (quoted fields, doubled quotes).</summary>
    private static List<string[]> ParseCsv(string csv)
    {
        using var parser = new TextFieldParser(new StringReader(csv)) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = false };
        parser.SetDelimiters(",");
        var rows = new List<string[]>();
        while (!parser.EndOfData)
        {
            rows.Add(parser.ReadFields()!);
        }

        return rows;
    }
}
