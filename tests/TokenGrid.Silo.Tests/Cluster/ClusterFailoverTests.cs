using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// Three real silo processes on PostgreSQL: they form one cluster, and when one is killed outright under load no job and
/// no token of accounting is lost. Runs in order: the cluster is checked whole before a silo dies.
/// </summary>
[Collection(SiloClusterCollection.Name)]
[TestCaseOrderer(MethodNameOrderer.TypeName, MethodNameOrderer.AssemblyName)]
public sealed class ClusterFailoverTests(SiloClusterFixture cluster)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Cluster_1_three_silos_form_one_cluster_and_any_silo_serves()
    {
        var active = await cluster.Database.QueryAsync(
            $"SELECT silo_name FROM orleans_silos WHERE cluster_id = '{cluster.ClusterId}' AND status = 'active'");
        Assert.Equal(["silo1", "silo2", "silo3"], active.Select(r => (string)r[0]).Order());

        string? text = null;
        foreach (var silo in cluster.Silos)
        {
            var (_, reply) = await ClusterClient.CompleteAsync(silo, SiloClusterFixture.DemoKey, maxTokens: 8);
            Assert.Equal(text ??= reply, reply);
        }

        using var admin = cluster.Silos[2].Client(SiloClusterFixture.AdminKey);
        var nodes = await (await admin.GetAsync("admin/nodes")).ReadJsonAsync();
        Assert.Equal(["silo1/cpu0", "silo2/cpu0", "silo3/cpu0"], nodes["data"]!.AsArray().Select(n => n!["node_id"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task Cluster_2_a_killed_silo_loses_no_job_and_no_token_of_accounting()
    {
        var deadline = DateTime.UtcNow + s_bound;

        // The silo that dies is the one hosting the tenant's grain: a grain's counters appear only on its own silo.
        var (tenant, key) = await cluster.CreateTenantAsync(cluster.Silos[0]);
        var before = await cluster.AdmissionsBySiloAsync();
        var (referenceJob, reference) = await ClusterClient.CompleteAsync(cluster.Silos[0], key);
        var after = await cluster.AdmissionsBySiloAsync();
        var victim = Assert.Single(after, kv => kv.Value > before[kv.Key]).Key;
        var survivors = cluster.Silos.Where(s => s != victim).ToList();
        var chargedBefore = (await UsageAsync(survivors[0], key))["charged"]!.GetValue<long>();
        Assert.True(chargedBefore > 0);

        // Load: async jobs through every silo, streams through the survivors, and a watcher connected to the victim.
        var jobs = new List<string> { referenceJob };
        for (var i = 0; i < 24; i++)
        {
            jobs.Add(await ClusterClient.SubmitAsync(cluster.Silos[i % 3], key) ?? throw new InvalidOperationException("Refused before any failure."));
        }

        var started = survivors.SelectMany(_ => new[] { new TaskCompletionSource(), new TaskCompletionSource() }).ToList();
        var streams = started.Select((s, i) => ClusterClient.StreamAsync(survivors[i % 2], key, s)).ToList();
        await Task.WhenAll(started.Select(s => s.Task)).WaitAsync(s_bound);
        var watchedJob = jobs[1 + cluster.Silos.IndexOf(victim)];
        var watch = ClusterClient.WatchAsync(victim, key, watchedJob);

        // Kill the victim while its node is generating.
        await WaitUntilAsync(async () => (await Task.WhenAll(jobs.Skip(1).Select(j => cluster.JobAsync(key, j))))
            .Any(j => j?["node_id"]?.GetValue<string>() == $"{victim.Name}/cpu0" && j["finished_at"] is null
                && j["usage"]!["completion_tokens"]!.GetValue<int>() > 0), deadline);
        victim.Kill();

        // Steady load through the failure window: a refusal must be an explicit problem, never a lost job.
        for (var i = 0; i < 6; i++)
        {
            if (await ClusterClient.SubmitAsync(survivors[i % 2], key) is { } id)
            {
                jobs.Add(id);
            }
        }

        // The watcher of the dead silo re-attaches through a survivor with Last-Event-ID and gets exactly the rest.
        var (seen, last, final) = await watch;
        while (final is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The watcher could not re-attach.\n{cluster.Logs}");
            await Task.Delay(500);
            var (rest, next, ended) = await ClusterClient.WatchAsync(survivors[0], key, watchedJob, last);
            (seen, last, final) = (seen + rest, next, ended);
        }

        Assert.Equal(final["status"]!.GetValue<string>() == "succeeded" ? reference : final["output"]?.GetValue<string>(), seen);

        // Every job ends, succeeded with the very output of an uninterrupted run, or failed with its reason.
        var finals = await Task.WhenAll(jobs.Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, deadline)));
        foreach (var job in finals)
        {
            var status = job["status"]!.GetValue<string>();
            Assert.True(status is "succeeded" or "failed", $"Job {job["id"]} ended {status}.");
            if (status == "succeeded")
            {
                // Async jobs keep their output; the reference completion does not.
                Assert.Equal(reference, job["output"]?.GetValue<string>() ?? reference);
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(job["error"]?.GetValue<string>()), $"Job {job["id"]} failed without a reason.");
            }
        }

        Assert.Contains(finals, j => j["status"]!.GetValue<string>() == "succeeded" && j["node_id"]!.GetValue<string>() != $"{victim.Name}/cpu0");
        foreach (var (jobId, text, finished) in await Task.WhenAll(streams))
        {
            Assert.True(finished, $"The stream of job {jobId} through a surviving silo did not end normally.");
            Assert.Equal(reference, text);
            finals = [.. finals, await ClusterClient.WaitFinishedAsync(cluster, key, jobId, deadline)];
        }

        await AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore, survivors[1]);
    }

    /// <summary>
    /// Each job settled once, charged its prompt plus its delivered completion tokens, the rest refunded; no reservation
    /// stays open; and the tenant's balance, read through a survivor after its grain's silo died, is the ledger's.
    /// </summary>
    private async Task AssertLedgerBalancesAsync(string tenant, string key, IReadOnlyList<JsonObject> finals, long chargedBefore, SiloProcess via)
    {
        var rows = (await cluster.Database.QueryAsync(
                $"SELECT job_id, reserved_tokens, charged_tokens, refunded_tokens, settled FROM tokengrid_job_settlements WHERE tenant_id = '{tenant}'"))
            .ToDictionary(r => (string)r[0]);
        foreach (var job in finals)
        {
            var id = job["id"]!.GetValue<string>();
            var charged = job["charged_tokens"]!.GetValue<long>();
            if (!rows.TryGetValue(id, out var row))
            {
                // Never reserved (its admission failed as the tenant's silo died): nothing to charge, nothing in the ledger.
                Assert.Equal(0, charged);
                Assert.Equal("failed", job["status"]!.GetValue<string>());
                continue;
            }

            Assert.True((bool)row[4], $"Job {id} is not settled.");
            Assert.Equal(job["usage"]!["total_tokens"]!.GetValue<long>(), charged);
            Assert.Equal(charged, (long)row[2]);
            Assert.Equal((long)row[1], (long)row[2] + (long)row[3]);
        }

        Assert.Empty(await cluster.Database.QueryAsync(
            $"SELECT job_id FROM tokengrid_ledger WHERE tenant_id = '{tenant}' AND kind = 'charge' GROUP BY job_id HAVING count(*) > 1"));
        Assert.All(rows.Values, r => Assert.True((bool)r[4], $"Job {r[0]} holds an open reservation."));

        var usage = await UsageAsync(via, key);
        Assert.Equal(0, usage["reserved"]!.GetValue<long>());
        Assert.Equal(0, usage["open_jobs"]!.GetValue<int>());
        Assert.Equal(rows.Values.Sum(r => (long)r[2]), usage["charged"]!.GetValue<long>());
        Assert.True(usage["charged"]!.GetValue<long>() > chargedBefore);
    }

    private static async Task<JsonObject> UsageAsync(SiloProcess silo, string key)
    {
        using var client = silo.Client(key);
        return await (await client.GetAsync("v1/usage")).ReadJsonAsync();
    }

    private async Task WaitUntilAsync(Func<Task<bool>> condition, DateTime deadline)
    {
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting.\n{cluster.Logs}");
            await Task.Delay(50);
        }
    }
}
