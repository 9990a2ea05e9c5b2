using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A platform team's backup and restore: <c>pg_dump -Fc</c> of a live grid's database, restored with <c>pg_restore</c>
/// into a fresh database, and a silo started on it.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class BackupRestoreTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromMinutes(2);
    private const int MaxTokens = 480;

    /// <summary>
    /// A streamed completion was running when the backup was taken. After the restore its client is long gone: the job
    /// must not run again to its end and be charged in full for output no one can receive. It ends as a client that
    /// left, charged for what it had produced when the backup was taken, and its reservation is released.
    /// </summary>
    [Fact]
    public async Task A_stream_running_in_a_backup_ends_as_a_client_that_left_after_the_restore_and_is_not_charged_again_in_full()
    {
        await using var live = await PostgresTestDatabase.CreateAsync();
        var clusterId = "test-" + Guid.NewGuid().ToString("N");
        var dump = Path.Combine(Path.GetTempPath(), $"tokengrid-backup-{Guid.NewGuid():N}.dump");
        string jobId;
        try
        {
            await using (var server = await TokenGridServer.StartAsync(Settings(live.ConnectionString, clusterId)))
            {
                jobId = await BackUpWhileAStreamRunsAsync(server, live, dump);
            }

            await using var restored = await PostgresTestDatabase.CreateAsync(migrate: false);
            await RunAsync("pg_restore", restored.ConnectionString, "--no-owner", "--exit-on-error", "-d", restored.Name, dump);
            var reservation = await restored.ScalarAsync<long>(
                $"SELECT reserved_tokens FROM tokengrid_job_settlements WHERE job_id = '{jobId}' AND NOT settled");

            await using var server2 = await TokenGridServer.StartAsync(Settings(restored.ConnectionString, clusterId));
            var deadline = DateTime.UtcNow + s_bound;
            while (await restored.ScalarAsync<bool>($"SELECT NOT settled FROM tokengrid_job_settlements WHERE job_id = '{jobId}'"))
            {
                Assert.True(DateTime.UtcNow < deadline, $"Job {jobId}'s reservation is still open {s_bound} after the restore.");
                await Task.Delay(250);
            }

            using var client = server2.Client(TokenGridServer.DemoKey);
            var job = await (await client.GetAsync($"v1/jobs/{jobId}")).ReadJsonAsync();
            var charged = await restored.ScalarAsync<long>($"SELECT charged_tokens FROM tokengrid_job_settlements WHERE job_id = '{jobId}'");
            var prompt = job["usage"]!["prompt_tokens"]!.GetValue<long>();
            Assert.True(job["status"]!.GetValue<string>() == "cancelled", $"Job {jobId} ended {job["status"]} after the restore: {job["error"]}");
            // The prompt and the tokens of the last checkpoint in the dump (none, when the dump came before the first), never all.
            Assert.InRange(charged, prompt, prompt + MaxTokens - 1);
            Assert.Equal(charged, job["charged_tokens"]!.GetValue<long>());
            Assert.Equal(reservation, charged + await restored.ScalarAsync<long>($"SELECT refunded_tokens FROM tokengrid_job_settlements WHERE job_id = '{jobId}'"));

            // The tenant holds nothing, and its state agrees with its ledger.
            Assert.Equal(0L, await restored.ScalarAsync<long>("SELECT reserved FROM tokengrid_tenants WHERE tenant_id = 'demo'"));
            Assert.Empty(await restored.QueryAsync("""
                SELECT t.tenant_id FROM tokengrid_tenants t
                JOIN tokengrid_ledger l ON l.tenant_id = t.tenant_id AND l.sequence = t.last_sequence
                WHERE l.charged_after <> t.charged OR l.reserved_after <> t.reserved
                """));
        }
        finally
        {
            File.Delete(dump);
        }
    }

    private static Dictionary<string, string> Settings(string connectionString, string clusterId)
    {
        var settings = PostgresSilo.Settings(connectionString, clusterId);
        settings["TokenGrid:Jobs:RecoveryPeriod"] = "00:00:01";
        settings["TokenGrid:Jobs:UnwatchedStreamGrace"] = "00:00:03";
        return settings;
    }

    /// <summary>
    /// Streams a long completion and dumps the database once it is producing tokens, then reads the stream to
    /// its end. Tries again with a new job when the job had ended before the dump did (a slow dump on a busy machine).
    /// </summary>
    private static async Task<string> BackUpWhileAStreamRunsAsync(TokenGridServer server, PostgresTestDatabase live, string dump)
    {
        using var client = server.Client(TokenGridServer.DemoKey);
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
            {
                Content = JsonContent.Create(new { model = "demo", prompt = "The token office opened its doors and", max_tokens = MaxTokens, ignore_eos = true, stream = true }),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var events = new SseReader(await response.Content.ReadAsStreamAsync());
            var first = JsonNode.Parse((await events.ReadAsync())!.Value.Data)!;
            var jobId = first["id"]!.GetValue<string>()["cmpl-".Length..];

            // Tokens have been produced; whether a checkpoint of them is in the dump does not matter to what is asserted.
            for (var read = 0; read < 20 && await events.ReadAsync() is not null; read++)
            {
            }

            await RunAsync("pg_dump", live.ConnectionString, "-Fc", "-f", dump, live.Name);
            var openAfterDump = await live.ScalarAsync<bool>($"SELECT NOT settled FROM tokengrid_job_settlements WHERE job_id = '{jobId}'");
            while (await events.ReadAsync() is not null)
            {
            }

            if (openAfterDump)
            {
                return jobId;
            }

            Assert.True(attempt < 3, "Every job ended before the dump was taken.");
        }
    }

    /// <summary>Runs a PostgreSQL client tool against the server of <paramref name="connectionString"/>.</summary>
    private static async Task RunAsync(string tool, string connectionString, params string[] args)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-h", connection.Host!, "-p", connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", connection.Username! }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGPASSWORD"] = connection.Password;
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(s_bound);
        Assert.True(process.ExitCode == 0, $"{tool} failed ({process.ExitCode}): {await errors}");
    }
}
