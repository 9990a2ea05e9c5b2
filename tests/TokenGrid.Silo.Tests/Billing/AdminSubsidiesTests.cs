using System.Net;
using System.Text;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Billing;

[Collection(ServerCollection.Name)]
public sealed class AdminSubsidiesTests(ServerFixture fixture) : AdminSubsidiesSuite(fixture.Server);

[Collection(PostgresServerCollection.Name)]
public sealed class PostgresAdminSubsidiesTests(PostgresServerFixture fixture) : AdminSubsidiesSuite(fixture.Server);

/// <summary>Subsidy programs over <c>PUT/GET /admin/subsidies</c> on one profile; each test uses programs of its own.</summary>
public abstract class AdminSubsidiesSuite(TokenGridServer server)
{
    [Fact]
    public async Task A_program_is_put_read_and_listed_with_its_period_position()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var id = NewId();

        var put = await (await PutAsync(admin, id, """{"share_bps": 4000, "budget_per_period": "100.00", "on_exhausted": "refuse"}""")).ReadJsonAsync();
        Assert.Equal(("subsidy_program", id, 4000, "100.000000", "refuse"), (
            put["object"]!.GetValue<string>(), put["id"]!.GetValue<string>(), put["share_bps"]!.GetValue<int>(),
            put["budget_per_period"]!.GetValue<string>(), put["on_exhausted"]!.GetValue<string>()));
        Assert.Equal(("0.000000", "0.000000", "100.000000"), (
            put["spent"]!.GetValue<string>(), put["reserved"]!.GetValue<string>(), put["remaining"]!.GetValue<string>()));
        var start = put["period_start"]!.GetValue<DateTimeOffset>();
        Assert.Equal((1, TimeSpan.Zero, TimeSpan.Zero), (start.Day, start.TimeOfDay, start.Offset));

        // A reservation and a settlement show in the position; a new budget applies to the current period.
        var grain = server.Grains.GetGrain<ISubsidyProgramGrain>(id);
        await grain.ReserveAsync(TokenGridServer.DemoTenant, "job-a", new Money(30_000_000));
        await grain.ReserveAsync(TokenGridServer.DemoTenant, "job-b", new Money(10_000_000));
        await grain.SettleAsync(TokenGridServer.DemoTenant, "job-a", new Money(12_500_000));
        await (await PutAsync(admin, id, """{"share_bps": 10000, "budget_per_period": "50"}""")).ReadJsonAsync();

        var read = await (await admin.GetAsync($"admin/subsidies/{id}")).ReadJsonAsync();
        Assert.Equal((10000, "50.000000", "full_price", "12.500000", "10.000000", "27.500000"), (
            read["share_bps"]!.GetValue<int>(), read["budget_per_period"]!.GetValue<string>(), read["on_exhausted"]!.GetValue<string>(),
            read["spent"]!.GetValue<string>(), read["reserved"]!.GetValue<string>(), read["remaining"]!.GetValue<string>()));

        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var listed = (await (await auditor.GetAsync("admin/subsidies")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(read.ToJsonString(), listed.Single(p => p!["id"]!.GetValue<string>() == id)!.ToJsonString());
        Assert.Equal(read.ToJsonString(), (await (await auditor.GetAsync($"admin/subsidies/{id}")).ReadJsonAsync()).ToJsonString());

        // Each change is one audit entry, with the program before and after as this API shows it.
        var entries = (await (await auditor.GetAsync($"admin/audit?target={id}&action=subsidy.put")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(2, entries.Count);
        Assert.Null(entries[0]!["before"]);
        Assert.Equal(put.ToJsonString(), entries[0]!["after"]!.ToJsonString());
        Assert.Equal(read.ToJsonString(), entries[1]!["after"]!.ToJsonString());
        Assert.Equal(("100.000000", "12.500000"), (entries[1]!["before"]!["budget_per_period"]!.GetValue<string>(), entries[1]!["before"]!["spent"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_unknown_program_is_a_404()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);

        await (await admin.GetAsync($"admin/subsidies/{NewId()}")).AssertProblemAsync(HttpStatusCode.NotFound, "subsidy_program_not_found");
        await (await admin.GetAsync("admin/subsidies/NOT%20AN%20ID")).AssertProblemAsync(HttpStatusCode.NotFound, "subsidy_program_not_found");
    }

    [Theory]
    [InlineData("""{"budget_per_period": "1"}""", "share_bps")]
    [InlineData("""{"share_bps": "40", "budget_per_period": "1"}""", "share_bps")]
    [InlineData("""{"share_bps": 10001, "budget_per_period": "1"}""", "share_bps")]
    [InlineData("""{"share_bps": -1, "budget_per_period": "1"}""", "share_bps")]
    [InlineData("""{"share_bps": 40.5, "budget_per_period": "1"}""", "share_bps")]
    [InlineData("""{"share_bps": 40}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": 100}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "0.1234567"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "1e3"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "-1"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "99999999999999999999999"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "+1"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "0001.5"}""", "budget_per_period")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "1", "on_exhausted": "stop"}""", "on_exhausted")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "1", "on_exhausted": 1}""", "on_exhausted")]
    [InlineData("""{"share_bps": 40, "budget_per_period": "1", "currency": "USD"}""", "currency")]
    public async Task Each_bad_field_is_a_400_naming_it_and_changes_nothing(string body, string param)
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var id = NewId();

        var problem = await (await PutAsync(admin, id, body)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
        await (await admin.GetAsync($"admin/subsidies/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_bad_id_is_a_400_naming_it()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);

        var problem = await (await PutAsync(admin, "Bad_Id", """{"share_bps": 40, "budget_per_period": "1"}""")).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("id", problem["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tenant_key_reaches_no_subsidy_program()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var id = NewId();
        await (await PutAsync(admin, id, """{"share_bps": 40, "budget_per_period": "1"}""")).ReadJsonAsync();
        var (_, key) = await server.CreateTenantAsync();
        using var tenant = server.Client(key);

        await (await tenant.GetAsync("admin/subsidies")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await tenant.GetAsync($"admin/subsidies/{id}")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await PutAsync(tenant, id, """{"share_bps": 10000, "budget_per_period": "1000"}""")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(40, (await server.Grains.GetGrain<ISubsidyProgramGrain>(id).GetAsync())!.Program.ShareBasisPoints);
    }

    private static string NewId() => "program-" + Guid.NewGuid().ToString("N")[..12];

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string id, string body) =>
        client.PutAsync($"admin/subsidies/{id}", new StringContent(body, Encoding.UTF8, "application/json"));
}
