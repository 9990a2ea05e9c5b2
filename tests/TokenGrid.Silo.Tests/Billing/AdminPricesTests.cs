using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(ServerCollection.Name)]
public sealed class AdminPricesTests(ServerFixture fixture) : AdminPricesSuite(fixture.Server);

[Collection(PostgresServerCollection.Name)]
public sealed class PostgresAdminPricesTests(PostgresServerFixture fixture) : AdminPricesSuite(fixture.Server);

/// <summary>
/// The rate card over <c>PUT/GET /admin/prices</c> on one profile. The server is shared, so each test publishes after
/// whatever the card already holds.
/// </summary>
public abstract class AdminPricesSuite(TokenGridServer server)
{
    [Fact]
    public async Task A_version_published_for_later_is_listed_exactly_and_not_in_force_before_its_time()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (from, previous) = await NextSlotAsync(admin);

        var published = await (await PutAsync(admin, new
        {
            currency = "USD",
            effective_from = from,
            prices = new object[]
            {
                new { model = TokenGridServer.Model, direction = "prompt", region = (string?)null, per_million = "0.15" },
                new { model = TokenGridServer.Model, direction = "completion", region = "north", per_million = "0.600001" },
            },
        })).ReadJsonAsync();

        Assert.Equal(("rate_card.version", previous + 1, "USD", false), (
            published["object"]!.GetValue<string>(), published["version"]!.GetValue<int>(), published["currency"]!.GetValue<string>(),
            published["in_force"]!.GetValue<bool>()));
        Assert.Equal(from, published["effective_from"]!.GetValue<DateTimeOffset>());
        var prices = published["prices"]!.AsArray();
        Assert.Equal(["0.150000", "0.600001"], prices.Select(p => p!["per_million"]!.GetValue<string>()));
        Assert.Equal("north", prices[1]!["region"]!.GetValue<string>());

        var listed = (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(published.ToJsonString(), listed[^1]!.ToJsonString());

        // The grain quotes what is in force now: not the version that starts tomorrow.
        var quote = await server.Grains.GetGrain<IRateCardGrain>(0).QuoteAsync(TokenGridServer.Model);
        Assert.True(quote is null || quote.Version < previous + 1);
    }

    [Fact]
    public async Task A_change_is_never_retroactive_nor_in_another_currency()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (from, _) = await NextSlotAsync(admin);
        await (await PutAsync(admin, Card("USD", from))).ReadJsonAsync();

        var past = await (await PutAsync(admin, Card("USD", DateTimeOffset.UtcNow.AddHours(-1)))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");
        var currency = await (await PutAsync(admin, Card("EUR", from.AddDays(1)))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");

        Assert.Contains("never retroactive", past["detail"]!.GetValue<string>());
        Assert.Contains("mix currencies", currency["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"1\"}]}", "currency")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[]}", "prices")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"no-such-model\",\"direction\":\"prompt\",\"per_million\":\"1\"}]}", "prices[0].model")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"input\",\"per_million\":\"1\"}]}", "prices[0].direction")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"0.1234567\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"1e3\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"-1\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"99999999999999999999999\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"9999999999999999999999999999\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"+1\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"1.\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\".5\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"0001.5\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"-0\"}]}", "prices[0].per_million")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[{\"model\":\"demo\",\"direction\":\"prompt\",\"per_million\":\"1\",\"region\":\" \"}]}", "prices[0].region")]
    [InlineData("{\"currency\":\"USD\",\"prices\":[null]}", "prices[0]")]
    public async Task Each_bad_field_is_a_400_naming_it(string body, string param)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);

        var problem = await (await admin.PutAsync("admin/prices", new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_refused_version_names_the_field_at_fault()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (from, _) = await NextSlotAsync(admin);
        await (await PutAsync(admin, Card("USD", from))).ReadJsonAsync();

        async Task<string> ParamOf(object body) =>
            (await (await PutAsync(admin, body)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value"))["error"]!["param"]!.GetValue<string>();

        Assert.Equal("effective_from", await ParamOf(Card("USD", DateTimeOffset.UtcNow.AddHours(-1))));
        Assert.Equal("effective_from", await ParamOf(Card("USD", from.AddHours(-1))));
        Assert.Equal("currency", await ParamOf(Card("EUR", from.AddDays(1))));
        Assert.Equal("currency", await ParamOf(Card("usd", from.AddDays(1))));
    }

    [Theory]
    [InlineData("2099-01-01T00:00:00")]
    [InlineData("2099-01-01")]
    public async Task An_effective_from_without_an_offset_is_refused_naming_it(string effectiveFrom)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (_, latest) = await NextSlotAsync(admin);
        var body = $$"""{"currency":"USD","effective_from":"{{effectiveFrom}}","prices":[{"model":"demo","direction":"prompt","per_million":"1"}]}""";

        var problem = await (await admin.PutAsync("admin/prices", new StringContent(body, Encoding.UTF8, "application/json")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");

        Assert.Equal("effective_from", problem["error"]!["param"]!.GetValue<string>());
        Assert.Contains("an offset or Z is required", problem["detail"]!.GetValue<string>());
        Assert.Equal(latest, (await NextSlotAsync(admin)).Latest);
    }

    [Fact]
    public async Task An_effective_from_with_an_offset_is_that_moment_shown_in_UTC()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var (from, _) = await NextSlotAsync(admin);
        var body = $$"""{"currency":"USD","effective_from":"{{from.ToOffset(TimeSpan.FromMinutes(330)):yyyy-MM-ddTHH:mm:sszzz}}","prices":[{"model":"demo","direction":"prompt","per_million":"1"}]}""";

        var published = await (await admin.PutAsync("admin/prices", new StringContent(body, Encoding.UTF8, "application/json"))).ReadJsonAsync();

        var shown = published["effective_from"]!.GetValue<string>();
        Assert.EndsWith("+00:00", shown);
        Assert.Equal(from, DateTimeOffset.Parse(shown, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Concurrent_publications_are_audited_in_order_each_after_the_version_it_follows()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var (from, _) = await NextSlotAsync(admin);
        var after = await LastSequenceAsync(auditor);

        // Distinct times, so most are accepted whatever order they arrive in; a time overtaken is refused and not audited.
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => PutAsync(admin, Card("USD", from.AddMinutes(6 - i)))));
        var published = answers.Count(a => a.IsSuccessStatusCode);

        var entries = (await (await auditor.GetAsync($"admin/audit?target=rate-card&action=prices.publish&after={after}&limit=100")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(published, entries.Count);
        for (var k = 1; k < entries.Count; k++)
        {
            Assert.Equal(entries[k - 1]!["after"]!["version"]!.GetValue<int>(), entries[k]!["before"]!["version"]!.GetValue<int>());
            Assert.Equal(entries[k - 1]!["after"]!["version"]!.GetValue<int>() + 1, entries[k]!["after"]!["version"]!.GetValue<int>());
        }
    }

    /// <summary>The sequence of the audit log's last entry (0 when it is empty).</summary>
    private static async Task<long> LastSequenceAsync(HttpClient auditor)
    {
        long after = 0;
        while (true)
        {
            var page = await (await auditor.GetAsync($"admin/audit?after={after}&limit=100")).ReadJsonAsync();
            if (page["data"]!.AsArray() is { Count: > 0 } data)
            {
                after = data[^1]!["sequence"]!.GetValue<long>();
            }

            if (page["next_after"] is null)
            {
                return after;
            }
        }
    }

    [Fact]
    public async Task Only_the_admin_key_reads_or_changes_prices()
    {
        var (_, key) = await server.CreateTenantAsync();
        using var tenant = server.Client(key);

        await (await tenant.GetAsync("admin/prices")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await PutAsync(tenant, Card("USD", DateTimeOffset.UtcNow.AddYears(50)))).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    private static object Card(string currency, DateTimeOffset from) => new
    {
        currency,
        effective_from = from,
        prices = new object[] { new { model = TokenGridServer.Model, direction = "prompt", per_million = "1" } },
    };

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, object body) =>
        client.PutAsync("admin/prices", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    /// <summary>A time after every version the shared card holds (and after now), and the latest version number.</summary>
    private static async Task<(DateTimeOffset From, int Latest)> NextSlotAsync(HttpClient admin)
    {
        var versions = (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray();
        var latest = versions.Count == 0 ? DateTimeOffset.UtcNow : versions[^1]!["effective_from"]!.GetValue<DateTimeOffset>();
        var from = new DateTimeOffset(Math.Max(latest.UtcTicks, DateTimeOffset.UtcNow.UtcTicks), TimeSpan.Zero).AddDays(1);
        return (new DateTimeOffset(from.Year, from.Month, from.Day, from.Hour, from.Minute, from.Second, TimeSpan.Zero), versions.Count);
    }
}
