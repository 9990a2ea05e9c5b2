using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Tests.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// The configured demo key (<c>TokenGrid:Demo:ApiKey</c>) is a key of the demo tenant like an issued one: listed,
/// revocable by its id, revoked with the tenant, and provisioned once however many times silos start. Each test has a
/// server of its own, since it revokes the demo key or deletes the demo tenant.
/// </summary>
public sealed class DemoKeyTests
{
    [Fact]
    public async Task The_configured_demo_key_is_listed_and_revocable_and_stays_revoked_when_silos_start_again()
    {
        await using var server = await TokenGridServer.StartAsync();
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var demo = server.Client(TokenGridServer.DemoKey);
        Assert.Equal(HttpStatusCode.OK, (await demo.GetAsync("v1/usage")).StatusCode);

        var key = Assert.Single(await KeysAsync(admin));
        // The listing shows no part of the configured secret (it could be most of a 16-character key).
        Assert.Equal(("demo (configured)", "(configured)"), (key["name"]!.GetValue<string>(), key["prefix"]!.GetValue<string>()));
        Assert.Null(key["revoked_at"]);

        // Every start of every silo provisions the demo tenant again, several at once in a cluster: still one key.
        await StartAgainAsync(server, times: 3);
        Assert.Equal(key.ToJsonString(), Assert.Single(await KeysAsync(admin)).ToJsonString());

        var keyId = key["key_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"admin/tenants/{TokenGridServer.DemoTenant}/keys/{keyId}")).StatusCode);
        await (await demo.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");

        // A start after the revocation does not bring it back.
        await StartAgainAsync(server, times: 1);
        await (await demo.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.NotNull(Assert.Single(await KeysAsync(admin))["revoked_at"]);
    }

    [Fact]
    public async Task Deleting_the_demo_tenant_revokes_its_configured_key_for_good()
    {
        await using var server = await TokenGridServer.StartAsync();
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var demo = server.Client(TokenGridServer.DemoKey);
        await (await demo.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hello", max_tokens = 2 })).ReadJsonAsync();

        var deleted = await (await admin.DeleteAsync($"admin/tenants/{TokenGridServer.DemoTenant}")).ReadJsonAsync();

        Assert.Equal(1, deleted["keys_revoked"]!.GetValue<int>());
        foreach (var path in new[] { "v1/usage", "v1/jobs", "v1/billing/statements", "v1/billing/events", "v1/models" })
        {
            await (await demo.GetAsync(path)).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        }

        // Silos starting again (with the key configured, or with none: a random one would be issued) start, and give the
        // deleted tenant no key.
        await StartAgainAsync(server, times: 1);
        await StartAgainAsync(server, times: 1, new DemoOptions());
        await (await demo.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.All(await KeysAsync(admin), k => Assert.NotNull(k["revoked_at"]));
    }

    /// <summary>The demo tenant's keys as the admin listing shows them.</summary>
    internal static async Task<List<JsonObject>> KeysAsync(HttpClient admin) =>
        [.. (await (await admin.GetAsync($"admin/tenants/{TokenGridServer.DemoTenant}/keys")).ReadJsonAsync())["data"]!
            .AsArray().Select(k => k!.AsObject())];

    /// <summary>
    /// Runs the server's startup provisioning <paramref name="times"/> times at once, as that many silos of its cluster
    /// starting together would, with its own demo settings or <paramref name="demo"/>.
    /// </summary>
    private static Task StartAgainAsync(TokenGridServer server, int times, DemoOptions? demo = null)
    {
        var provisioner = demo is null
            ? server.Services.GetServices<IHostedService>().OfType<StartupProvisioner>().Single()
            : ActivatorUtilities.CreateInstance<StartupProvisioner>(server.Services, Microsoft.Extensions.Options.Options.Create(demo));
        return Task.WhenAll(Enumerable.Range(0, times).Select(_ => provisioner.StartAsync(CancellationToken.None)));
    }
}

/// <summary>The configured demo key on the postgres profile: silos of one cluster starting at once, and again.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresDemoKeyTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Silos_starting_at_once_list_the_configured_key_once_and_a_revoked_one_stays_revoked_after_a_restart()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var clusterId = "test-" + Guid.NewGuid().ToString("N");
        var settings = PostgresSilo.Settings(database.ConnectionString, clusterId);
        var silos = await Task.WhenAll(TokenGridServer.StartAsync(settings), TokenGridServer.StartAsync(settings)).WaitAsync(s_bound);
        try
        {
            using var admin = silos[0].Client(TokenGridServer.AdminKey);
            var key = Assert.Single(await DemoKeyTests.KeysAsync(admin));
            foreach (var silo in silos)
            {
                using var demo = silo.Client(TokenGridServer.DemoKey);
                Assert.Equal(HttpStatusCode.OK, (await demo.GetAsync("v1/usage")).StatusCode);
            }

            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"admin/tenants/{TokenGridServer.DemoTenant}/keys/{key["key_id"]!.GetValue<string>()}")).StatusCode);
        }
        finally
        {
            await Task.WhenAll(silos.Select(s => s.DisposeAsync().AsTask()));
        }

        await using var restarted = await TokenGridServer.StartAsync(settings).WaitAsync(s_bound);
        using var again = restarted.Client(TokenGridServer.AdminKey);
        Assert.NotNull(Assert.Single(await DemoKeyTests.KeysAsync(again))["revoked_at"]);
        using var revoked = restarted.Client(TokenGridServer.DemoKey);
        await (await revoked.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
    }
}
