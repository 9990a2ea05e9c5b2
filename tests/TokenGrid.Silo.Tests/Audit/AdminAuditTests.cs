using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Audit;

[Collection(ServerCollection.Name)]
public sealed class AdminAuditTests(ServerFixture fixture) : AdminAuditSuite(fixture.Server);

[Collection(PostgresServerCollection.Name)]
public sealed class PostgresAdminAuditTests(PostgresServerFixture fixture) : AdminAuditSuite(fixture.Server);

/// <summary>
/// The audit log over HTTP on one profile: every admin action is one entry with the acting key's id, the action, the
/// target and the views before and after; the auditor key reads it and changes nothing; a tenant key reads nothing. The
/// server is shared, so each test reads the entries of its own targets (or those after a sequence it noted).
/// </summary>
public abstract class AdminAuditSuite(TokenGridServer server)
{
    /// <summary>The admin key's id in the log: never the key.</summary>
    private static readonly string s_adminActor =
        "admin:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(TokenGridServer.AdminKey)))[..12];

    [Fact]
    public async Task Each_tenant_and_key_action_is_one_entry_with_its_actor_and_its_views_before_and_after()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var id = "audit-" + Guid.NewGuid().ToString("N")[..12];

        var created = await (await admin.PostAsJsonAsync("admin/tenants", new { id, budget = new { period_quota = 1000 } })).ReadJsonAsync(HttpStatusCode.Created);
        AssertEntry(Assert.Single(await EntriesAsync(auditor, $"target={id}")), "tenant.create", id, null, created);

        var patched = await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { period_quota = 2000 } })).ReadJsonAsync();
        var replaced = await (await admin.PutAsJsonAsync($"admin/tenants/{id}", new { name = "Renamed", budget = new { period_quota = 3000 } })).ReadJsonAsync();
        var updates = await EntriesAsync(auditor, $"target={id}&action=tenant.update");
        Assert.Equal(2, updates.Count);
        AssertEntry(updates[0], "tenant.update", id, created, patched);
        AssertEntry(updates[1], "tenant.update", id, patched, replaced);
        Assert.Equal(3000, updates[1]["after"]!["budget"]!["period_quota"]!.GetValue<long>());

        var issued = await (await admin.PostAsJsonAsync($"admin/tenants/{id}/keys", new { name = "ci" })).ReadJsonAsync(HttpStatusCode.Created);
        var keyId = issued["key_id"]!.GetValue<string>();
        var secret = issued["secret"]!.GetValue<string>();
        var listed = await KeyAsync(admin, id, keyId);
        var issue = Assert.Single(await EntriesAsync(auditor, $"target={keyId}"));
        AssertEntry(issue, "key.issue", keyId, null, listed);
        Assert.DoesNotContain(secret, issue.ToJsonString());
        Assert.Null(issue["after"]!["secret"]);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"admin/tenants/{id}/keys/{keyId}")).StatusCode);
        var revoke = (await EntriesAsync(auditor, $"target={keyId}"))[^1];
        AssertEntry(revoke, "key.revoke", keyId, listed, await KeyAsync(admin, id, keyId));
        Assert.NotNull(revoke["after"]!["revoked_at"]);

        var beforeDelete = await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync();
        await (await admin.DeleteAsync($"admin/tenants/{id}")).ReadJsonAsync();
        var afterDelete = await (await admin.GetAsync($"admin/tenants/{id}")).ReadJsonAsync();
        var entries = await EntriesAsync(auditor, $"target={id}");
        Assert.Equal(["tenant.create", "tenant.update", "tenant.update", "tenant.delete"], entries.Select(e => e["action"]!.GetValue<string>()));
        AssertEntry(entries[^1], "tenant.delete", id, beforeDelete, afterDelete);
        Assert.NotNull(entries[^1]["after"]!["deleted_at"]);

        // Refused changes are not actions: nothing is recorded for them.
        await (await admin.PostAsJsonAsync("admin/tenants", new { id })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await admin.DeleteAsync($"admin/tenants/{id}/keys/key_unknown")).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(4, (await EntriesAsync(auditor, $"target={id}")).Count);
        Assert.Empty(await EntriesAsync(auditor, "target=key_unknown"));
    }

    [Fact]
    public async Task A_price_publication_is_one_entry_with_the_latest_version_before_it()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var versions = (await (await admin.GetAsync("admin/prices")).ReadJsonAsync())["data"]!.AsArray();
        var latest = versions.Count == 0 ? DateTimeOffset.UtcNow : versions[^1]!["effective_from"]!.GetValue<DateTimeOffset>();
        var from = new DateTimeOffset(Math.Max(latest.UtcTicks, DateTimeOffset.UtcNow.UtcTicks), TimeSpan.Zero).AddDays(1);
        var mark = await LastSequenceAsync(auditor);

        var body = new { currency = "USD", effective_from = from, prices = new[] { new { model = TokenGridServer.Model, direction = "prompt", per_million = "2" } } };
        var published = await (await admin.PutAsync("admin/prices", JsonContent.Create(body))).ReadJsonAsync();

        var entry = Assert.Single(await EntriesAsync(auditor, "action=prices.publish", mark));
        AssertEntry(entry, "prices.publish", "rate-card", versions.Count == 0 ? null : versions[^1]!.AsObject(), published);
    }

    [Fact]
    public async Task Drain_and_resume_are_one_entry_each_with_the_node_before_and_after()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        await server.RefreshNodesAsync();
        var node = $"{server.SiloName}/cpu0";
        var mark = await LastSequenceAsync(auditor);

        JsonObject drained;
        try
        {
            using var drain = await admin.PostAsync($"admin/nodes/{node}/drain", null);
            drained = await drain.ReadJsonAsync(drain.StatusCode == HttpStatusCode.Accepted ? HttpStatusCode.Accepted : HttpStatusCode.OK);
        }
        finally
        {
            await (await admin.PostAsync($"admin/nodes/{node}/resume", null)).ReadJsonAsync();
        }

        var entries = await EntriesAsync(auditor, $"target={node}", mark);
        Assert.Equal(["node.drain", "node.resume"], entries.Select(e => e["action"]!.GetValue<string>()));
        AssertEntry(entries[0], "node.drain", node, null, drained, checkBefore: false);
        Assert.False(entries[0]["before"]!["draining"]!.GetValue<bool>());
        Assert.True(entries[0]["after"]!["draining"]!.GetValue<bool>());
        Assert.True(entries[1]["before"]!["draining"]!.GetValue<bool>());
        Assert.False(entries[1]["after"]!["draining"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Pages_follow_each_other_oldest_first_and_end_with_no_next_after()
    {
        using var admin = server.Client(TokenGridServer.AdminKey);
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        var (id, _) = await server.CreateTenantAsync();
        for (var quota = 1; quota <= 4; quota++)
        {
            await (await admin.PatchAsJsonAsync($"admin/tenants/{id}", new { budget = new { period_quota = quota } })).ReadJsonAsync();
        }

        var sequences = new List<long>();
        long after = 0;
        var pages = 0;
        while (true)
        {
            var page = await (await auditor.GetAsync($"admin/audit?target={id}&after={after}&limit=2")).ReadJsonAsync();
            Assert.Equal("list", page["object"]!.GetValue<string>());
            var data = page["data"]!.AsArray();
            Assert.All(data, e => Assert.Equal("audit.entry", e!["object"]!.GetValue<string>()));
            sequences.AddRange(data.Select(e => e!["sequence"]!.GetValue<long>()));
            pages++;
            if (page["next_after"] is not { } next)
            {
                break;
            }

            Assert.Equal(2, data.Count);
            after = next.GetValue<long>();
            Assert.Equal(sequences[^1], after);
        }

        Assert.Equal(5, sequences.Count);
        Assert.Equal(3, pages);
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        var quotas = (await EntriesAsync(auditor, $"target={id}&action=tenant.update")).Select(e => e["after"]!["budget"]!["period_quota"]!.GetValue<long>());
        Assert.Equal([1L, 2, 3, 4], quotas);
    }

    [Fact]
    public async Task The_auditor_reads_the_log_and_changes_nothing_and_a_tenant_key_reads_nothing()
    {
        var (tenantId, tenantKey) = await server.CreateTenantAsync();
        using var auditor = server.Client(TokenGridServer.AuditorKey);
        using var tenant = server.Client(tenantKey);
        var mark = await LastSequenceAsync(auditor);

        await (await tenant.GetAsync("admin/audit")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        using (var anonymous = server.Client(null))
        {
            await (await anonymous.GetAsync("admin/audit")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        // A valid key of another role: 403, as silo-config/README.md's error table says.
        await (await auditor.PostAsJsonAsync("admin/tenants", new { id = "audit-by-auditor" })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PatchAsJsonAsync($"admin/tenants/{tenantId}", new { enabled = false })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PostAsJsonAsync($"admin/tenants/{tenantId}/keys", new { name = "x" })).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.DeleteAsync($"admin/tenants/{tenantId}")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PutAsync("admin/prices", JsonContent.Create(new { currency = "USD" }))).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await auditor.PostAsync($"admin/nodes/{server.SiloName}/cpu0/drain", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");

        // Nothing changed, so nothing was recorded; the admin key reads the log too.
        using var admin = server.Client(TokenGridServer.AdminKey);
        Assert.True((await (await admin.GetAsync($"admin/tenants/{tenantId}")).ReadJsonAsync())["enabled"]!.GetValue<bool>());
        Assert.Equal(mark, await LastSequenceAsync(admin));
    }

    [Theory]
    [InlineData("after=-1", "after")]
    [InlineData("after=x", "after")]
    [InlineData("after=1.5", "after")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    public async Task A_bad_query_value_is_a_400_naming_it(string query, string param)
    {
        using var auditor = server.Client(TokenGridServer.AuditorKey);

        var problem = await (await auditor.GetAsync($"admin/audit?{query}")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_value");

        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    private static void AssertEntry(JsonObject entry, string action, string target, JsonObject? before, JsonObject after, bool checkBefore = true)
    {
        Assert.Equal((s_adminActor, action, target), (
            entry["actor"]!.GetValue<string>(), entry["action"]!.GetValue<string>(), entry["target"]!.GetValue<string>()));
        var at = entry["at"]!.GetValue<DateTimeOffset>();
        Assert.InRange(at, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.DoesNotContain(TokenGridServer.AdminKey, entry.ToJsonString());
        if (checkBefore)
        {
            Assert.Equal(before?.ToJsonString() ?? "null", entry["before"]?.ToJsonString() ?? "null");
        }

        Assert.Equal(after.ToJsonString(), entry["after"]!.ToJsonString());
    }

    /// <summary>Every entry <paramref name="filter"/> selects after sequence <paramref name="after"/>, oldest first, page by page.</summary>
    private static async Task<List<JsonObject>> EntriesAsync(HttpClient client, string filter, long after = 0)
    {
        var entries = new List<JsonObject>();
        while (true)
        {
            var page = await (await client.GetAsync($"admin/audit?{filter}&after={after}&limit=100")).ReadJsonAsync();
            entries.AddRange(page["data"]!.AsArray().Select(e => e!.AsObject()));
            if (page["next_after"] is not { } next)
            {
                return entries;
            }

            after = next.GetValue<long>();
        }
    }

    /// <summary>The sequence of the log's last entry (0 when it is empty).</summary>
    private static async Task<long> LastSequenceAsync(HttpClient client)
    {
        var all = await EntriesAsync(client, "");
        return all.Count == 0 ? 0 : all[^1]["sequence"]!.GetValue<long>();
    }

    /// <summary>The key as <c>GET /admin/tenants/{id}/keys</c> lists it.</summary>
    private static async Task<JsonObject> KeyAsync(HttpClient admin, string tenantId, string keyId) =>
        (await (await admin.GetAsync($"admin/tenants/{tenantId}/keys")).ReadJsonAsync())["data"]!.AsArray()
            .Single(k => k!["key_id"]!.GetValue<string>() == keyId)!.AsObject();
}
