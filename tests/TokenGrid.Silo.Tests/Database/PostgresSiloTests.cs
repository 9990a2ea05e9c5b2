using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Real silos on the postgres profile against a real PostgreSQL, one fresh database per test.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresSiloTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_silo_migrates_joins_serves_and_keeps_state_and_ledger_in_postgres()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await using var server = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString));

        Assert.Equal((long)TokenGrid.Storage.Postgres.Migrations.Migration.All.Count, await database.ScalarAsync<long>("SELECT count(*) FROM tokengrid_schema_migrations"));
        Assert.Equal("active", await database.ScalarAsync<string>($"SELECT status FROM orleans_silos WHERE silo_name = '{server.SiloName}'"));
        using var anonymous = server.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/ready")).StatusCode);

        var (jobId, totalTokens) = await ChatAsync(server);

        // The tenant's state row agrees with its ledger: the newest line's sequence and figures are the row's.
        var tenant = Assert.Single(await database.QueryAsync("""
            SELECT t.last_sequence, t.charged, t.reserved, l.sequence, l.charged_after, l.reserved_after
            FROM tokengrid_tenants t
            JOIN LATERAL (SELECT * FROM tokengrid_ledger WHERE tenant_id = t.tenant_id ORDER BY sequence DESC LIMIT 1) l ON true
            WHERE t.tenant_id = 'demo'
            """));
        Assert.Equal(tenant[0], tenant[3]);
        Assert.Equal(tenant[1], tenant[4]);
        Assert.Equal(tenant[2], tenant[5]);
        var settlement = await database.QueryAsync(
            $"SELECT reserved_tokens, charged_tokens, refunded_tokens, settled FROM tokengrid_job_settlements WHERE tenant_id = 'demo' AND job_id = '{jobId}'");
        var row = Assert.Single(settlement);
        Assert.Equal((long)totalTokens, (long)row[1]);
        Assert.Equal((long)row[0], (long)row[1] + (long)row[2]);
        Assert.True((bool)row[3]);
        Assert.Equal(1L, await database.ScalarAsync<long>($"SELECT count(*) FROM tokengrid_tenant_jobs WHERE job_id = '{jobId}'"));
    }

    [Fact]
    public async Task A_silo_started_before_its_database_waits_then_joins()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await using var gate = new TcpGate();
        var real = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        var throughGate = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = gate.Port };

        var starting = TokenGridServer.StartAsync(PostgresSilo.Settings(throughGate.ConnectionString));
        await Task.WhenAny(gate.Refused, starting).WaitAsync(s_bound);
        Assert.False(starting.IsCompleted, "The silo should still be waiting for the database.");

        gate.Open(real.Host!, real.Port);
        await using var server = await starting.WaitAsync(s_bound);
        Assert.Equal("active", await database.ScalarAsync<string>($"SELECT status FROM orleans_silos WHERE silo_name = '{server.SiloName}'"));
        await ChatAsync(server);
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_and_either_serves()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var clusterId = "test-" + Guid.NewGuid().ToString("N");
        await using var first = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId));
        await using var second = await TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId));

        var active = await database.QueryAsync($"SELECT silo_name FROM orleans_silos WHERE cluster_id = '{clusterId}' AND status = 'active'");
        Assert.Equal(new[] { first.SiloName, second.SiloName }.Order(), active.Select(r => (string)r[0]).Order());

        var (viaFirst, _) = await ChatAsync(first);
        var (viaSecond, _) = await ChatAsync(second);
        Assert.Equal(2L, await database.ScalarAsync<long>(
            $"SELECT count(*) FROM tokengrid_job_settlements WHERE settled AND job_id IN ('{viaFirst}', '{viaSecond}')"));
    }

    /// <summary>A chat completion with the demo key; waits until its job ended (and so settled). Returns the job id and total tokens.</summary>
    private static async Task<(string JobId, int TotalTokens)> ChatAsync(TokenGridServer server)
    {
        using var client = server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostJsonAsync("v1/chat/completions", new
        {
            model = "demo",
            messages = new[] { new { role = "user", content = "Hello from PostgreSQL" } },
            max_tokens = 4,
        })).ReadJsonAsync();
        var jobId = reply["id"]!.GetValue<string>()["chatcmpl-".Length..];

        using var response = await client.GetAsync($"v1/jobs/{jobId}/events", HttpCompletionOption.ResponseHeadersRead);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync());
        JsonObject? job = null;
        while (await events.ReadAsync() is { } e)
        {
            job = e.Event == "status" ? JsonNode.Parse(e.Data)!["job"]!.AsObject() : job;
        }

        Assert.NotNull(job?["charged_tokens"]);
        return (jobId, reply["usage"]!["total_tokens"]!.GetValue<int>());
    }
}
