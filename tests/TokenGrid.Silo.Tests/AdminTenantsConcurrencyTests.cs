using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Concurrent admin changes of one tenant all survive, and the audit log has them in order, chained.</summary>
[Collection(ServerCollection.Name)]
public sealed class AdminTenantsConcurrencyTests(ServerFixture fixture) : AdminTenantsConcurrencySuite(fixture.Server);

/// <summary>The same on the postgres profile, where production runs.</summary>
[Collection(PostgresServerCollection.Name)]
public sealed class PostgresAdminTenantsConcurrencyTests(PostgresServerFixture fixture) : AdminTenantsConcurrencySuite(fixture.Server);

/// <summary>The tests of <see cref="AdminTenantsConcurrencyTests"/>, on either profile.</summary>
public abstract class AdminTenantsConcurrencySuite(TokenGridServer server)
{
    private const int Rounds = 20;

    [Fact]
    public async Task Concurrent_patches_of_different_fields_all_survive_and_the_audit_log_chains_them_in_order()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        var id = "lu-" + Guid.NewGuid().ToString("N")[..12];
        await (await admin.PostAsJsonAsync("admin/tenants", new { id, name = "Lost update" })).ReadJsonAsync(System.Net.HttpStatusCode.Created);

        for (var i = 1; i <= Rounds; i++)
        {
            var patches = await Task.WhenAll(
                admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { spend_cap = $"{i}.00" } }),
                admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { home_region = $"r{i}" } }),
                admin.PatchAsJsonAsync($"admin/tenants/{id}", new { name = $"n{i}" }),
                admin.PutAsJsonAsync($"admin/tenants/{id}", new { enabled = i % 2 == 0, budget = new { spend_cap = $"{i}.00", home_region = $"r{i}" } }));
            foreach (var patch in patches)
            {
                await patch.ReadJsonAsync();
            }

            var tenant = await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync();
            Assert.Equal(($"{i}.000000", $"r{i}", $"n{i}", i % 2 == 0), (
                tenant["budget"]!["spend_cap"]!.GetValue<string>(), tenant["budget"]!["home_region"]!.GetValue<string>(),
                tenant["name"]!.GetValue<string>(), tenant["enabled"]!.GetValue<bool>()));
        }

        // Each entry's before is the previous entry's after: no change is hidden, none is out of order.
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var entries = (await (await auditor.GetAsync($"admin/audit?target={id}&limit=100")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(1 + (4 * Rounds), entries.Count);
        Assert.Equal("tenant.create", entries[0]!["action"]!.GetValue<string>());
        for (var k = 1; k < entries.Count; k++)
        {
            Assert.Equal("tenant.update", entries[k]!["action"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(entries[k - 1]!["after"], entries[k]!["before"]),
                $"entry {k} (seq {entries[k]!["sequence"]}) does not follow the one before it: {entries[k - 1]!["after"]!.ToJsonString()} then {entries[k]!["before"]!.ToJsonString()}");
        }
    }
}
