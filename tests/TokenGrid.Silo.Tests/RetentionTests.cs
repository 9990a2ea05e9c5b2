using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Silo.Tests.Support;
using static TokenGrid.Silo.Tests.Support.RetentionSteps;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Retention on the local profile (in-memory storage): content goes after its retention, the record stays listed, the
/// ledger is untouched, and a tenant deletes its own jobs' content at once. The clock is fake and the sweep explicit.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private const string LongTenant = "retention-long";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
    private TokenGridServer? _server;

    private TokenGridServer Server => _server!;

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(Settings(new()
    {
        ["TokenGrid:Retention:StreamedJobs"] = "00:10:00",
        ["TokenGrid:Retention:AsyncJobs"] = "7.00:00:00",
        [$"TokenGrid:Retention:Tenants:{LongTenant}"] = "30.00:00:00",
    }), _time);

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task Content_goes_after_its_retention_and_the_record_and_ledger_stay()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        var job = await RunAsyncJobAsync(client);
        var id = job["id"]!.GetValue<string>();
        var chat = await RunChatAsync(client);
        Assert.False(string.IsNullOrEmpty(job["output"]?.GetValue<string>()));
        var finishedAt = job["finished_at"]!.GetValue<DateTimeOffset>();
        Assert.Equal(finishedAt + TimeSpan.FromDays(7), job["content_expires_at"]!.GetValue<DateTimeOffset>());
        var chatJob = await GetJobAsync(client, chat);
        Assert.Equal(chatJob["finished_at"]!.GetValue<DateTimeOffset>() + TimeSpan.FromMinutes(10), chatJob["content_expires_at"]!.GetValue<DateTimeOffset>());
        var ledger = await LedgersAsync(tenant, id, chat);
        var usage = (await (await client.GetAsync("v1/usage")).ReadJsonAsync()).ToJsonString();

        // Past the chat's retention only: the chat's content goes, the async job's stays.
        _time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var first = await SweepAsync(Server);
        Assert.True(first.Jobs >= 1, $"swept {first}");
        Assert.Equal("expired", (await GetJobAsync(client, chat))["content_deleted"]!["reason"]!.GetValue<string>());
        Assert.Equal(job["output"]!.GetValue<string>(), (await GetJobAsync(client, id))["output"]!.GetValue<string>());
        Assert.Equal(job["output"]!.GetValue<string>(), await EventsTextAsync(client, id));

        // Past the async job's: its content goes too.
        _time.Advance(TimeSpan.FromDays(7));
        var second = await SweepAsync(Server);
        Assert.True(second.Jobs >= 1, $"swept {second}");
        await AssertContentDeletedAsync(client, job, "expired", "job_content_expired");

        var listed = await ListAsync(client);
        Assert.Equal("succeeded", listed[id]["status"]!.GetValue<string>());
        Assert.Null(listed[id]["output"]);
        Assert.Equal(job["usage"]!.ToJsonString(), listed[id]["usage"]!.ToJsonString());
        Assert.True(listed.ContainsKey(chat));
        Assert.Equal(ledger, await LedgersAsync(tenant, id, chat));
        Assert.Equal(usage, (await (await client.GetAsync("v1/usage")).ReadJsonAsync()).ToJsonString());

        // This server's first scrape: everything its sweeps deleted.
        var (deleted, bytes, oldestAge) = await DeletedMetricsAsync(Server, "expired");
        Assert.Equal(first.Jobs + second.Jobs, deleted);
        Assert.Equal(first.Bytes + second.Bytes, bytes);
        Assert.True(bytes > 0);
        Assert.NotNull(oldestAge);
    }

    [Fact]
    public async Task A_tenant_override_keeps_async_content_longer()
    {
        var key = await CreateTenantAsync(Server, LongTenant);
        using var client = Server.Client(key);
        var job = await RunAsyncJobAsync(client);
        var id = job["id"]!.GetValue<string>();
        Assert.Equal(job["finished_at"]!.GetValue<DateTimeOffset>() + TimeSpan.FromDays(30), job["content_expires_at"]!.GetValue<DateTimeOffset>());

        _time.Advance(TimeSpan.FromDays(8));
        await SweepAsync(Server);
        Assert.Equal(job["output"]!.GetValue<string>(), (await GetJobAsync(client, id))["output"]!.GetValue<string>());

        _time.Advance(TimeSpan.FromDays(22));
        await SweepAsync(Server);
        await AssertContentDeletedAsync(client, job, "expired", "job_content_expired");
    }

    [Fact]
    public async Task A_tenant_deletes_its_own_jobs_content_at_once_and_no_one_elses()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        var (_, otherKey) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var other = Server.Client(otherKey);
        var job = await RunAsyncJobAsync(client);
        var id = job["id"]!.GetValue<string>();
        var ledger = await LedgersAsync(tenant, id);

        // Another tenant's delete is a 404, as for a job that does not exist, and changes nothing.
        await (await other.DeleteAsync($"v1/jobs/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
        await (await client.DeleteAsync("v1/jobs/job_missing")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
        Assert.Equal(job["output"]!.GetValue<string>(), (await GetJobAsync(client, id))["output"]!.GetValue<string>());

        var deleted = await (await client.DeleteAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Null(deleted["output"]);
        Assert.Equal("deleted_by_tenant", deleted["content_deleted"]!["reason"]!.GetValue<string>());
        await AssertContentDeletedAsync(client, job, "deleted_by_tenant", "job_content_deleted");

        // Again: the same record. The ledger and the listing are unchanged; the sweep has nothing left of it.
        var again = await (await client.DeleteAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal(deleted.ToJsonString(), again.ToJsonString());
        Assert.Equal(ledger, await LedgersAsync(tenant, id));
        Assert.True((await ListAsync(client)).ContainsKey(id));
        var (deletedByTenant, bytesByTenant, _) = await DeletedMetricsAsync(Server, "tenant");
        Assert.Equal(1, deletedByTenant);
        Assert.True(bytesByTenant > 0);
    }

    [Fact]
    public async Task Deleting_a_running_job_cancels_it_settles_it_and_deletes_its_content()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        await Server.RefreshNodesAsync();
        var submitted = await (await client.PostJsonAsync("v1/jobs", new { model = "demo", prompt = "Write an essay.", max_tokens = 450, ignore_eos = true }))
            .ReadJsonAsync(HttpStatusCode.Accepted);
        var id = submitted["id"]!.GetValue<string>();
        using var response = await client.GetAsync($"v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        while (await events.ReadAsync() is { } e && e.Event != "tokens")
        {
        }

        var deleted = await (await client.DeleteAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal("cancelled", deleted["status"]!.GetValue<string>());
        Assert.Equal("deleted_by_tenant", deleted["content_deleted"]!["reason"]!.GetValue<string>());
        Assert.Null(deleted["output"]);

        // Settled as cancelled, for the tokens it produced; nothing stays reserved.
        var charge = Assert.Single(await Server.LedgerOfJobAsync(tenant, id), e => e["kind"]!.GetValue<string>() == "charge");
        Assert.Equal(deleted["charged_tokens"]!.GetValue<long>(), charge["tokens"]!.GetValue<long>());
        var usage = await (await client.GetAsync("v1/usage")).ReadJsonAsync();
        Assert.Equal(0L, usage["reserved"]!.GetValue<long>());
    }

    [Fact]
    public async Task Deleting_a_tenant_deletes_its_content_and_keys_and_keeps_its_records_and_ledger()
    {
        var (tenant, key) = await Server.CreateTenantAsync();
        var (_, otherKey) = await Server.CreateTenantAsync();
        using var client = Server.Client(key);
        using var other = Server.Client(otherKey);
        using var admin = Server.Client(TokenGridServer.AdminKey);
        var job = await RunAsyncJobAsync(client);
        var id = job["id"]!.GetValue<string>();
        var chat = await RunChatAsync(client);
        var otherJob = await RunAsyncJobAsync(other);
        var ledger = await LedgersAsync(tenant, id, chat);

        var deleted = await (await admin.DeleteAsync($"admin/tenants/{tenant}")).ReadJsonAsync();
        Assert.Equal((2, 1), (deleted["jobs"]!.GetValue<int>(), deleted["keys_revoked"]!.GetValue<int>()));
        await (await client.GetAsync("v1/jobs")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        var record = await (await admin.GetAsync($"admin/tenants/{tenant}")).ReadJsonAsync();
        Assert.False(record["enabled"]!.GetValue<bool>());
        Assert.NotNull(record["deleted_at"]?.GetValue<DateTimeOffset>());
        Assert.Equal(ledger, await LedgersAsync(tenant, id, chat));

        // Deleted for good: it cannot be enabled again, changed or given a key.
        await (await admin.PatchAsJsonAsync($"admin/tenants/{tenant}", new { enabled = true })).AssertProblemAsync(HttpStatusCode.Conflict, "tenant_deleted");
        await (await admin.PutAsJsonAsync($"admin/tenants/{tenant}", new { name = "back", budget = new { }, enabled = true })).AssertProblemAsync(HttpStatusCode.Conflict, "tenant_deleted");
        await (await admin.PostAsJsonAsync($"admin/tenants/{tenant}/keys", new { name = "again" })).AssertProblemAsync(HttpStatusCode.Conflict, "tenant_deleted");
        Assert.False((await (await admin.GetAsync($"admin/tenants/{tenant}")).ReadJsonAsync())["enabled"]!.GetValue<bool>());

        foreach (var jobId in new[] { id, chat })
        {
            var info = await Server.Grains.GetGrain<TokenGrid.Abstractions.Jobs.IJobGrain>(jobId).GetAsync();
            Assert.Equal(TokenGrid.Abstractions.Jobs.JobContentDeletionReason.TenantDeleted, info!.ContentDeleted!.Reason);
            Assert.Null(info.Output);
            Assert.Equal("succeeded", info.Status.ToString().ToLowerInvariant());
        }

        // Another tenant's jobs are untouched; deleting again finds nothing more to do.
        Assert.Equal(otherJob["output"]!.GetValue<string>(), (await GetJobAsync(other, otherJob["id"]!.GetValue<string>()))["output"]!.GetValue<string>());
        var again = await (await admin.DeleteAsync($"admin/tenants/{tenant}")).ReadJsonAsync();
        Assert.Equal((2, 0), (again["jobs"]!.GetValue<int>(), again["keys_revoked"]!.GetValue<int>()));
        await (await admin.DeleteAsync("admin/tenants/t-missing")).AssertProblemAsync(HttpStatusCode.NotFound, "tenant_not_found");
        var (deletedWithTenant, _, _) = await DeletedMetricsAsync(Server, "tenant_deleted");
        Assert.Equal(2, deletedWithTenant);
    }

    [Fact]
    public async Task Each_silo_sweeps_by_itself_every_sweep_interval()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Retention:SweepInterval"] = "00:05:00",
            ["TokenGrid:Retention:StreamedJobs"] = "00:10:00",
        }, time);
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        await RunChatAsync(client);
        var store = server.Services.GetRequiredService<IJobContentExpiryStore>();
        Assert.Equal(1, ((InMemoryJobContentExpiryStore)store).Count);

        // The first tick finds nothing due; the second (10 minutes on) deletes the chat's content.
        var swept = new TaskCompletionSource<JobContentSweep>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Services.GetRequiredService<JobContentSweeper>().Swept += (_, sweep) =>
        {
            if (sweep.Jobs > 0)
            {
                swept.TrySetResult(sweep);
            }
        };
        time.Advance(TimeSpan.FromMinutes(5));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(new JobContentSweep(1, (await swept.Task.WaitAsync(TimeSpan.FromSeconds(30))).Bytes, 1), await swept.Task);
        Assert.Equal(0, ((InMemoryJobContentExpiryStore)store).Count);
    }

    private async Task<string> LedgersAsync(string tenant, params string[] jobs)
    {
        var lines = new JsonArray();
        foreach (var job in jobs)
        {
            var entries = await Server.LedgerOfJobAsync(tenant, job);
            Assert.NotEmpty(entries);
            foreach (var entry in entries)
            {
                lines.Add(entry.DeepClone());
            }
        }

        return lines.ToJsonString();
    }
}
