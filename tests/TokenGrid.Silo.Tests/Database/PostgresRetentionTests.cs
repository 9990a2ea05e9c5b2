using System.Net;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Silo.Tests.Support;
using TokenGrid.Storage.Postgres;
using static TokenGrid.Silo.Tests.Support.RetentionSteps;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Retention on the postgres profile: content leaves the grain state rows in bounded batches; records and ledger stay.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresRetentionTests
{
    [Fact]
    public async Task Expired_content_leaves_postgres_one_job_per_batch_and_records_and_ledger_stay()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
        var settings = PostgresSilo.Settings(database.ConnectionString);
        settings["TokenGrid:Retention:BatchSize"] = "1";
        await using var server = await TokenGridServer.StartAsync(Settings(settings), time);
        var (tenant, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);

        var jobs = new List<System.Text.Json.Nodes.JsonObject>();
        for (var i = 0; i < 3; i++)
        {
            jobs.Add(await RunAsyncJobAsync(client, $"Job number {i} of the retention test."));
        }

        var chat = await RunChatAsync(client);
        var ids = jobs.Select(j => j["id"]!.GetValue<string>()).Append(chat).ToArray();
        var idList = string.Join(", ", ids.Select(id => $"'{id}'"));
        Assert.Equal(4L, await database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_job_content_expiry WHERE job_id IN ({idList})"));
        var payloadBefore = await database.ScalarAsync<long>(
            $"SELECT sum(octet_length(payload))::bigint FROM orleans_grain_state WHERE state_name = 'job' AND grain_key IN ({idList})");
        var output = jobs[0]["output"]!.GetValue<string>();
        Assert.Equal(1L, await CountPayloadsHoldingAsync(database, idList, output));
        var ledger = await LedgerAsync(database, tenant);

        time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        var sweep = await SweepAsync(server);

        // One job per batch: four batches, each a short claim, one versioned write and one delete.
        Assert.Equal(new JobContentSweep(4, sweep.Bytes, 4), sweep);
        Assert.Equal(0L, await database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_job_content_expiry WHERE job_id IN ({idList})"));
        var payloadAfter = await database.ScalarAsync<long>(
            $"SELECT sum(octet_length(payload))::bigint FROM orleans_grain_state WHERE state_name = 'job' AND grain_key IN ({idList})");
        // Each job's removal is measured on its own and counted as 0 when erasing it wrote nothing shorter. The streamed
        // chat reply kept no content to remove, and its state, marked as deleted, is written a byte longer than it was
        // (529 bytes to 530 when measured). So the rows may shrink by up to a byte a job less than the sweep counts.
        Assert.InRange(payloadBefore - payloadAfter, sweep.Bytes - ids.Length, sweep.Bytes);
        Assert.Equal(0L, await CountPayloadsHoldingAsync(database, idList, output));
        Assert.Equal(ledger, await LedgerAsync(database, tenant));

        foreach (var job in jobs)
        {
            await AssertContentDeletedAsync(client, job, "expired", "job_content_expired");
        }

        var listed = await ListAsync(client);
        Assert.All(ids, id => Assert.Equal("succeeded", listed[id]["status"]!.GetValue<string>()));
        var (deleted, bytes, oldestAge) = await DeletedMetricsAsync(server, "expired");
        Assert.Equal((4, sweep.Bytes), (deleted, bytes));
        Assert.Equal(0, oldestAge);
    }

    [Fact]
    public async Task A_tenant_deletes_content_from_postgres_at_once()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await TokenGridServer.StartAsync(Settings(PostgresSilo.Settings(database.ConnectionString)),
            new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero)));
        var (tenant, key) = await server.CreateTenantAsync();
        var (_, otherKey) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        using var other = server.Client(otherKey);
        var job = await RunAsyncJobAsync(client);
        var id = job["id"]!.GetValue<string>();
        var ledger = await LedgerAsync(database, tenant);

        await (await other.DeleteAsync($"v1/jobs/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "job_not_found");
        Assert.Equal(1L, await CountPayloadsHoldingAsync(database, $"'{id}'", job["output"]!.GetValue<string>()));

        await (await client.DeleteAsync($"v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal(0L, await CountPayloadsHoldingAsync(database, $"'{id}'", job["output"]!.GetValue<string>()));
        Assert.Equal(0L, await database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_job_content_expiry WHERE job_id = '{id}'"));
        await AssertContentDeletedAsync(client, job, "deleted_by_tenant", "job_content_deleted");
        Assert.Equal(ledger, await LedgerAsync(database, tenant));
    }

    [Fact]
    public async Task Claims_split_due_entries_between_sweepers_and_a_dead_sweepers_claim_runs_out()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var store = new PostgresJobContentExpiryStore(dataSource);
        var t0 = new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 5; i++)
        {
            await store.ScheduleAsync(new JobContentExpiry($"job_{i}", "t", t0.AddMinutes(-i), t0.AddMinutes(i)));
        }

        Assert.Equal(t0.AddMinutes(-4), await store.OldestFinishedAtAsync());
        var now = t0.AddMinutes(3);
        var first = await store.ClaimDueAsync(now, 2, now.AddMinutes(5));
        var second = await store.ClaimDueAsync(now, 10, now.AddMinutes(5));
        Assert.Equal(["job_0", "job_1"], first.Select(e => e.JobId));
        Assert.Equal(["job_2", "job_3"], second.Select(e => e.JobId));
        Assert.Empty(await store.ClaimDueAsync(now, 10, now.AddMinutes(5)));

        // The first sweeper finishes; the second dies. Its claims are taken again once they run out.
        await store.RemoveAsync(first.Select(e => e.JobId).ToList());
        var late = await store.ClaimDueAsync(now.AddMinutes(4), 10, now.AddMinutes(9));
        Assert.Equal(["job_4"], late.Select(e => e.JobId));
        var retaken = await store.ClaimDueAsync(now.AddMinutes(10), 10, now.AddMinutes(15));
        Assert.Equal(["job_2", "job_3", "job_4"], retaken.Select(e => e.JobId));
        await store.RemoveAsync(retaken.Select(e => e.JobId).ToList());
        Assert.Null(await store.OldestFinishedAtAsync());
    }

    private static Task<long> CountPayloadsHoldingAsync(PostgresTestDatabase database, string idList, string text) =>
        database.ScalarAsync<long>(
            $"SELECT count(*) FROM orleans_grain_state WHERE state_name = 'job' AND grain_key IN ({idList}) " +
            $"AND position(convert_to('{text.Replace("'", "''")}', 'UTF8') IN payload) > 0");

    private static async Task<string> LedgerAsync(PostgresTestDatabase database, string tenant)
    {
        var rows = await database.QueryAsync($"SELECT sequence, job_id, kind, tokens FROM tokengrid_ledger WHERE tenant_id = '{tenant}' ORDER BY sequence");
        Assert.NotEmpty(rows);
        return string.Join("\n", rows.Select(r => string.Join(",", r)));
    }
}
