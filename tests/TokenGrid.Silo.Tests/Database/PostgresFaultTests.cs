using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A database error a retry does not fix (here a privilege the silos' role lacks) is a 500 the SDKs do not repeat,
/// logged at Error with its SQLSTATE, through either silo of a two-silo cluster (so across silos too); an outage stays
/// a 503 with Retry-After.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresFaultTests
{
    [Fact]
    public async Task A_privilege_the_role_lacks_is_a_500_without_retry_through_either_silo_and_an_outage_stays_503()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var clusterId = "test-" + Guid.NewGuid().ToString("N");
        var logs = new[] { new ErrorLogCapture(LogLevel.Warning), new ErrorLogCapture(LogLevel.Warning) };
        await using var first = await StartAsync(database, clusterId, logs[0]);
        await using var second = await StartAsync(database, clusterId, logs[1]);
        TokenGridServer[] silos = [first, second];
        foreach (var silo in silos)
        {
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(silo)).StatusCode);
        }

        // The tenant's grain lives on one of the two silos: the other one's requests meet the error across silos.
        await database.ExecuteAsync("REVOKE INSERT, SELECT ON tokengrid_ledger FROM CURRENT_USER");
        foreach (var silo in silos)
        {
            await AssertFaultAsync(await ChatAsync(silo));
            using var admin = silo.Client(TokenGridServer.AdminKey);
            await AssertFaultAsync(await admin.GetAsync("admin/tenants/demo/ledger"));
        }

        // One Error line per request, naming the SQLSTATE: the job's (it could not be admitted) or the API's. (The jobs'
        // settlements fail too, each an Error line of its own, and are tried again later.)
        var errors = logs.SelectMany(l => l.Errors).Where(e => e.StartsWith("Error", StringComparison.Ordinal)).ToList();
        var faults = errors.Where(e => !e.Contains("[LogSettleFailed]", StringComparison.Ordinal)).ToList();
        Assert.True(faults.Count == 4 && faults.All(e => e.Contains("(SQLSTATE 42501), which a retry does not fix", StringComparison.Ordinal)), string.Join('\n', errors));
        Assert.Equal(2, faults.Count(e => e.Contains("[LogAdmissionFaulted] Job ", StringComparison.Ordinal)));
        Assert.Equal(2, faults.Count(e => e.Contains("[LogDatabaseFault] GET /admin/tenants/demo/ledger failed", StringComparison.Ordinal)));

        var sdk = await ReferenceTools.OpenAiRetriesAsync(new Uri(second.BaseAddress, "v1"), TokenGridServer.DemoKey, "chat");
        Assert.Equal(1, sdk["attempts"]!.GetValue<int>());
        Assert.Equal(500, sdk["error"]!["status"]!.GetValue<int>());

        // Repaired, it serves again without a restart; connections the server ends (as a restart or failover does) are
        // an outage: 503 with Retry-After, or served on a new connection, never a 500.
        await database.ExecuteAsync("GRANT INSERT, SELECT ON tokengrid_ledger TO CURRENT_USER");
        foreach (var silo in silos)
        {
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(silo)).StatusCode);
        }

        await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        foreach (var silo in silos)
        {
            using var reply = await ChatAsync(silo);
            var body = await reply.Content.ReadAsStringAsync();
            Assert.True(reply.StatusCode is HttpStatusCode.OK || (reply.StatusCode is HttpStatusCode.ServiceUnavailable && reply.Headers.RetryAfter is not null), $"{(int)reply.StatusCode}: {body}");
        }
    }

    private static async Task AssertFaultAsync(HttpResponseMessage reply)
    {
        var problem = await reply.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal_error");
        Assert.Equal(["false"], reply.Headers.GetValues("x-should-retry"));
        Assert.Null(reply.Headers.RetryAfter);

        // Neither the SQL, nor the table, nor the server's message reaches the tenant.
        var text = problem.ToJsonString();
        Assert.All(["42501", "permission", "tokengrid_ledger", "SELECT", "INSERT"], secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
    }

    private static async Task<HttpResponseMessage> ChatAsync(TokenGridServer silo)
    {
        using var client = silo.Client(TokenGridServer.DemoKey);
        return await client.PostJsonAsync("v1/chat/completions", new { model = "demo", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2 });
    }

    private static Task<TokenGridServer> StartAsync(PostgresTestDatabase database, string clusterId, ErrorLogCapture log) =>
        TokenGridServer.StartAsync(PostgresSilo.Settings(database.ConnectionString, clusterId), services: s => s.AddSingleton<ILoggerProvider>(log));
}
