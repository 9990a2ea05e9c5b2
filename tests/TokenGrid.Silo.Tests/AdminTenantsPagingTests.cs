using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// <c>GET /admin/tenants</c> answers a page at a time, in id order, so a grid of thousands of tenants is listed without
/// one reply reading (and activating) every tenant.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AdminTenantsPagingTests(ServerFixture fixture)
{
    private readonly TokenGridServer _server = fixture.Server;

    [Fact]
    public async Task Tenants_are_listed_a_page_at_a_time_in_id_order_and_after_names_the_next_page()
    {
        using var admin = _server.Client(TokenGridServer.AdminKey);
        var prefix = "pg-" + Guid.NewGuid().ToString("N")[..12] + "-";
        var ids = Enumerable.Range(0, 5).Select(i => $"{prefix}{i}").ToList();
        foreach (var id in ids.AsEnumerable().Reverse())
        {
            await (await admin.PostAsJsonAsync("admin/tenants", new { id })).ReadJsonAsync(HttpStatusCode.Created);
        }

        // "after" need not be a tenant's id: the prefix itself starts the list just before this test's tenants.
        var first = await (await admin.GetAsync($"admin/tenants?limit=2&after={prefix}")).ReadJsonAsync();
        Assert.Equal(ids[..2], Ids(first));
        Assert.True(first["has_more"]!.GetValue<bool>());
        Assert.Equal(ids[1], first["last_id"]!.GetValue<string>());

        var second = await (await admin.GetAsync($"admin/tenants?limit=2&after={ids[1]}")).ReadJsonAsync();
        Assert.Equal(ids[2..4], Ids(second));

        var third = await (await admin.GetAsync($"admin/tenants?limit=1&after={ids[3]}")).ReadJsonAsync();
        Assert.Equal([ids[4]], Ids(third));
    }

    [Fact]
    public async Task Without_a_limit_a_page_holds_the_default_page_size_and_says_there_is_more()
    {
        using var admin = _server.Client(TokenGridServer.AdminKey);
        var prefix = "pd-" + Guid.NewGuid().ToString("N")[..12] + "-";
        await Task.WhenAll(Enumerable.Range(0, 21).Select(async i =>
            await (await admin.PostAsJsonAsync("admin/tenants", new { id = $"{prefix}{i:D2}" })).ReadJsonAsync(HttpStatusCode.Created)));

        var page = await (await admin.GetAsync($"admin/tenants?after={prefix}")).ReadJsonAsync();

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{prefix}{i:D2}"), Ids(page));
        Assert.True(page["has_more"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=abc")]
    public async Task A_bad_limit_is_a_400_naming_it(string query)
    {
        using var admin = _server.Client(TokenGridServer.AdminKey);

        var problem = await (await admin.GetAsync($"admin/tenants?{query}")).ReadJsonAsync(HttpStatusCode.BadRequest);

        Assert.Equal("limit", problem["error"]!["param"]!.GetValue<string>());
    }

    /// <summary>A tenant's keys page as the tenants do: <c>limit</c>, <c>after</c>, <c>has_more</c>, <c>last_id</c>.</summary>
    [Fact]
    public async Task A_tenants_keys_are_listed_a_page_at_a_time_in_key_id_order()
    {
        using var admin = _server.Client(TokenGridServer.AdminKey);
        var tenantId = "pk-" + Guid.NewGuid().ToString("N")[..12];
        await (await admin.PostAsJsonAsync("admin/tenants", new { id = tenantId })).ReadJsonAsync(HttpStatusCode.Created);
        for (var i = 0; i < 5; i++)
        {
            await (await admin.PostAsJsonAsync($"admin/tenants/{tenantId}/keys", new { name = $"k{i}" })).ReadJsonAsync(HttpStatusCode.Created);
        }

        var all = await (await admin.GetAsync($"admin/tenants/{tenantId}/keys")).ReadJsonAsync();
        var keyIds = KeyIds(all);
        Assert.Equal(5, keyIds.Count);
        Assert.Equal(keyIds.Order(StringComparer.Ordinal), keyIds);
        Assert.False(all["has_more"]!.GetValue<bool>());

        var first = await (await admin.GetAsync($"admin/tenants/{tenantId}/keys?limit=2")).ReadJsonAsync();
        Assert.Equal(keyIds[..2], KeyIds(first));
        Assert.True(first["has_more"]!.GetValue<bool>());
        Assert.Equal(keyIds[1], first["last_id"]!.GetValue<string>());
        var second = await (await admin.GetAsync($"admin/tenants/{tenantId}/keys?limit=2&after={keyIds[1]}")).ReadJsonAsync();
        Assert.Equal(keyIds[2..4], KeyIds(second));
        var last = await (await admin.GetAsync($"admin/tenants/{tenantId}/keys?limit=2&after={keyIds[3]}")).ReadJsonAsync();
        Assert.Equal([keyIds[4]], KeyIds(last));
        Assert.False(last["has_more"]!.GetValue<bool>());

        foreach (var query in new[] { "limit=0", "limit=101", "limit=abc" })
        {
            var problem = await (await admin.GetAsync($"admin/tenants/{tenantId}/keys?{query}")).ReadJsonAsync(HttpStatusCode.BadRequest);
            Assert.Equal("limit", problem["error"]!["param"]!.GetValue<string>());
        }
    }

    private static List<string> KeyIds(JsonObject page) => [.. page["data"]!.AsArray().Select(k => k!["key_id"]!.GetValue<string>())];

    private static List<string> Ids(JsonObject page) => [.. page["data"]!.AsArray().Select(t => t!["id"]!.GetValue<string>())];
}
