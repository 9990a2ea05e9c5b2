using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Tenants see only their own jobs and usage; keys are checked on every request; admin and tenant keys never cross.</summary>
[Collection(ServerCollection.Name)]
public sealed class IsolationAndAuthTests(ServerFixture fixture) : IsolationAndAuthSuite(fixture.Server);

/// <summary>The same on the postgres profile, where production runs.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresIsolationAndAuthTests(PostgresServerFixture fixture) : IsolationAndAuthSuite(fixture.Server);

/// <summary>The tests of <see cref="IsolationAndAuthTests"/>, on either profile.</summary>
public abstract class IsolationAndAuthSuite(TokenGridServer server)
{
    private TokenGridServer Server => server;

    [Fact]
    public async Task Another_tenants_job_is_not_found_on_every_job_endpoint()
    {
        var (ownerTenant, ownerKey) = await Server.CreateTenantAsync();
        var (otherTenant, otherKey) = await Server.CreateTenantAsync();
        using var owner = Server.Client(ownerKey);
        using var other = Server.Client(otherKey);
        var job = await (await owner.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Private", max_tokens = 3 })).ReadJsonAsync(HttpStatusCode.Accepted);
        var id = job["id"]!.GetValue<string>();
        await (await owner.GetAsync($"v1/jobs/{id}/events")).Content.ReadAsStringAsync();

        foreach (var response in new[]
        {
            await other.GetAsync($"v1/jobs/{id}"),
            await other.PostAsync($"v1/jobs/{id}/cancel", null),
            await other.GetAsync($"v1/jobs/{id}/events"),
        })
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
            response.AssertRateLimitHeaders();
        }

        // Same answer as for a job that does not exist at all.
        await (await other.GetAsync("v1/jobs/job_doesnotexist")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");

        var ownList = await (await owner.GetAsync("v1/jobs")).ReadJsonAsync();
        Assert.Contains(ownList["data"]!.AsArray(), j => j!["id"]!.GetValue<string>() == id);
        var otherList = await (await other.GetAsync("v1/jobs")).ReadJsonAsync();
        Assert.Empty(otherList["data"]!.AsArray());

        var ownUsage = await (await owner.GetAsync("v1/usage")).ReadJsonAsync();
        var otherUsage = await (await other.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal(ownerTenant, ownUsage["tenant_id"]!.GetValue<string>());
        Assert.True(ownUsage["charged"]!.GetValue<long>() > 0);
        Assert.Equal(otherTenant, otherUsage["tenant_id"]!.GetValue<string>());
        Assert.Equal(0, otherUsage["charged"]!.GetValue<long>());
        Assert.Empty(otherUsage["models"]!.AsArray());

        var fetched = await (await owner.GetAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal("succeeded", fetched["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(fetched["output"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_in_pages()
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var job = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", messages = new[] { new { role = "user", content = $"#{i}" } }, max_tokens = 1 }))
                .ReadJsonAsync(HttpStatusCode.Accepted);
            ids.Add(job["id"]!.GetValue<string>());
        }

        var first = await (await client.GetAsync("v1/jobs?limit=2")).ReadJsonAsync();
        Assert.Equal([ids[2], ids[1]], first["data"]!.AsArray().Select(j => j!["id"]!.GetValue<string>()));
        Assert.True(first["has_more"]!.GetValue<bool>());
        var second = await (await client.GetAsync($"v1/jobs?limit=2&before={first["last_id"]}")).ReadJsonAsync();
        Assert.Equal([ids[0]], second["data"]!.AsArray().Select(j => j!["id"]!.GetValue<string>()));
        Assert.False(second["has_more"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_revoked_key_fails_at_once()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var admin = Server.Client(TokenGridServer.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("v1/models")).StatusCode);

        var keys = await (await admin.GetAsync($"admin/tenants/{tenant}/keys")).ReadJsonAsync();
        var keyId = keys["data"]![0]!["key_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"admin/tenants/{tenant}/keys/{keyId}")).StatusCode);

        await (await client.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await (await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "x", max_tokens = 1 }))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        var listed = await (await admin.GetAsync($"admin/tenants/{tenant}/keys")).ReadJsonAsync();
        Assert.NotNull(listed["data"]![0]!["revoked_at"]);
        await (await admin.DeleteAsync($"admin/tenants/{tenant}/keys/key_unknown")).AssertProblemAsync(HttpStatusCode.NotFound, "key_not_found");
    }

    [Fact]
    public async Task Admin_and_tenant_keys_do_not_cross()
    {
        var (_, key) = await Server.CreateTenantAsync();
        using var tenant = Server.Client(key);
        using var admin = Server.Client(TokenGridServer.AdminKey);
        using var anonymous = Server.Client(null);

        await (await tenant.GetAsync("admin/tenants")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await tenant.GetAsync("admin/nodes")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await admin.GetAsync("v1/models")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await (await admin.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await (await anonymous.GetAsync("admin/tenants")).AssertProblemAsync(HttpStatusCode.Unauthorized, "missing_api_key");
        await (await anonymous.GetAsync("v1/jobs")).AssertProblemAsync(HttpStatusCode.Unauthorized, "missing_api_key");

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("admin/tenants")).StatusCode);
        var nodes = await (await admin.GetAsync("admin/nodes")).ReadJsonAsync();
        Assert.Contains(nodes["data"]!.AsArray(), n => n!["node_id"]!.GetValue<string>() == $"{Server.SiloName}/cpu0");
    }

    [Fact]
    public async Task Admin_manages_tenant_budgets()
    {
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var id = "acme-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostAsJsonAsync("admin/tenants", new { id, name = "Acme", budget = new { requests_per_minute = 7, period = "daily" } }))
            .ReadJsonAsync(HttpStatusCode.Created);
        Assert.Equal(7, created["budget"]!["requests_per_minute"]!.GetValue<int>());
        Assert.Equal("daily", created["budget"]!["period"]!.GetValue<string>());
        await (await admin.PostAsJsonAsync("admin/tenants", new { id })).AssertProblemAsync(HttpStatusCode.Conflict, "tenant_exists");
        await (await admin.PostAsJsonAsync("admin/tenants", new { id = "Bad Id!" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await admin.PostAsJsonAsync("admin/tenants", new { id = id + "x", budget = new { tokens_per_minute = 0 } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);

        var patched = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { tokens_per_minute = 1234 } })).ReadJsonAsync();
        Assert.Equal(1234, patched["budget"]!["tokens_per_minute"]!.GetValue<long>());
        Assert.Equal(7, patched["budget"]!["requests_per_minute"]!.GetValue<int>());
        var replaced = await (await admin.PutAsJsonAsync($"admin/tenants/{id}", new { budget = new { requests_per_minute = 9 }, enabled = false })).ReadJsonAsync();
        Assert.Equal(9, replaced["budget"]!["requests_per_minute"]!.GetValue<int>());
        Assert.False(replaced["enabled"]!.GetValue<bool>());
        Assert.Equal("Acme", replaced["name"]!.GetValue<string>());

        var fetched = await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync();
        Assert.Equal(9, fetched["budget"]!["requests_per_minute"]!.GetValue<int>());
        var all = await (await admin.GetAsync("admin/tenants")).ReadJsonAsync();
        Assert.Contains(all["data"]!.AsArray(), t => t!["id"]!.GetValue<string>() == id);
        await (await admin.GetAsync("admin/tenants/nobody-here")).AssertProblemAsync(HttpStatusCode.NotFound, "tenant_not_found");
        await (await admin.PatchAsJsonAsync("admin/tenants/nobody-here", new { enabled = true })).AssertProblemAsync(HttpStatusCode.NotFound, "tenant_not_found");
        await (await admin.GetAsync("admin/tenants/nobody-here/ledger")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_disabled_tenant_is_forbidden_to_generate()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var admin = Server.Client(TokenGridServer.AdminKey);
        await (await admin.PatchAsJsonAsync($"admin/tenants/{tenant}", new { enabled = false })).ReadJsonAsync();
        using var client = Server.Client(key);

        var response = await client.PostJsonAsync("v1/completions", new { model = "demo", prompt = "x", max_tokens = 1 });
        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "tenant_disabled");
        response.AssertRateLimitHeaders();
    }
}
