using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace TokenGrid.Silo.Tests.Cluster;

public sealed partial class ClusterFailoverTests
{
    public const string ControlVariable = "TOKENGRID_TEST_POSTGRES_CTL";

    /// <summary>
    /// PostgreSQL restarts under steady load: requests that need it are refused with 503 and Retry-After: 2, never a 500;
    /// the silos recover by themselves; every job accepted before, during or after succeeds, settled exactly once, and
    /// every ledger line reaches the table.
    /// </summary>
    /// <remarks>
    /// Stops the real server (fast shutdown: connections are cut) and starts it again once the API has refused requests
    /// that needed it, with the control command in <c>TOKENGRID_TEST_POSTGRES_CTL</c> (scripts/test.sh sets it). The
    /// collection runs alone, so no other test's database connection is cut.
    /// </remarks>
    [Fact]
    public async Task Cluster_3_a_postgres_restart_under_load_answers_503_then_recovers_and_loses_nothing()
    {
        var deadline = DateTime.UtcNow + s_bound;
        var silos = cluster.Live.ToList();
        var (tenant, key) = await cluster.CreateTenantAsync(silos[0]);

        var accepted = new ConcurrentQueue<string>();
        var unexpected = new ConcurrentQueue<string>();
        var refused = 0;
        var restarted = 0;
        var firstAccepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstRefused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var acceptedAfterRestart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        // Steady load: each client submits a short job through its silo, follows it to its end (its settlement may
        // have to wait for the database), and submits again.
        var clients = Enumerable.Range(0, 2 * silos.Count).Select(i => Task.Run(async () =>
        {
            var silo = silos[i % silos.Count];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (status, jobId) = await ClusterClient.TrySubmitAsync(silo, key, maxTokens: 24);
                    if (jobId is null)
                    {
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                        Interlocked.Increment(ref refused);
                        firstRefused.TrySetResult();
                        continue;
                    }

                    accepted.Enqueue(jobId);
                    firstAccepted.TrySetResult();
                    if (Volatile.Read(ref restarted) == 1)
                    {
                        acceptedAfterRestart.TrySetResult();
                    }

                    await WaitEndedAsync(key, jobId, deadline);
                }
                catch (Exception e)
                {
                    unexpected.Enqueue($"{silo.Name}: {e.Message}");
                    return;
                }
            }
        })).ToList();

        await firstAccepted.Task.WaitAsync(s_bound);
        await PostgresAsync("stop -m fast");
        try
        {
            await firstRefused.Task.WaitAsync(s_bound);
        }
        finally
        {
            await PostgresAsync("start");
        }

        Volatile.Write(ref restarted, 1);
        await acceptedAfterRestart.Task.WaitAsync(s_bound);
        await stop.CancelAsync();
        await Task.WhenAll(clients).WaitAsync(s_bound);

        Assert.True(unexpected.IsEmpty, $"Unexpected answers:\n{string.Join('\n', unexpected)}\n{cluster.Logs}");
        Assert.All(silos, s => Assert.False(s.HasExited, $"{s.Name} exited.\n{cluster.Logs}"));

        // Every accepted job succeeded and settled: the database refuses new work while it is down (503, Retry-After 2 s,
        // checked on every refusal), but jobs already running go on and what they settle or save is retried until it is
        // back. A job that failed, with whatever reason, broke that promise. The ledger balances.
        var finals = await Task.WhenAll(accepted.Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, deadline)));
        var failed = finals.Where(j => j["status"]!.GetValue<string>() != "succeeded").ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {finals.Length} accepted jobs did not succeed:\n"
            + string.Join('\n', failed.Select(j => $"{j["id"]} {j["status"]}: {j["error"]}")) + $"\n{cluster.Logs}");
        Assert.True(refused > 0);
        await cluster.AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore: 0, silos[^1]);
        Console.WriteLine($"PostgreSQL restart: {finals.Length} jobs accepted, {refused} refusals (503 with Retry-After).");
    }

    /// <summary>Polls until the job has ended, settled or not.</summary>
    private async Task WaitEndedAsync(string key, string jobId, DateTime deadline)
    {
        while ((await cluster.JobAsync(key, jobId))?["finished_at"] is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Job {jobId} did not end.");
            await Task.Delay(50);
        }
    }

    private static async Task PostgresAsync(string action)
    {
        var control = Environment.GetEnvironmentVariable(ControlVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{ControlVariable} is not set: run ./scripts/test.sh, or set it to a command that takes stop or start for the test PostgreSQL server.");
        using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"{control} {action}"]) { RedirectStandardError = true })!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"PostgreSQL {action} failed ({process.ExitCode}): {errors}");

        // The test's own pooled connections died with the server.
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
