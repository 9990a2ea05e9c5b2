namespace TokenGrid.Silo.Tests.Cluster;

public sealed partial class ClusterFailoverTests
{
    /// <summary>
    /// A silo stopped as Kubernetes stops one (SIGTERM: a rolling update, a scale-down, an eviction) drains its node
    /// before it leaves: the jobs its engine runs when the signal comes finish there, with the output of an uninterrupted
    /// run, and none is cut and recomputed elsewhere; the silo exits cleanly, and every job is charged once. Runs after
    /// the kills: it leaves its silo stopped.
    /// </summary>
    [Fact]
    public async Task Cluster_6_a_silo_stopped_with_sigterm_finishes_the_jobs_its_node_runs()
    {
        var deadline = DateTime.UtcNow + 2 * s_bound;
        foreach (var dead in cluster.Silos.Where(s => s.HasExited).ToList())
        {
            await cluster.RestartAsync(dead);
        }

        // Clients reach the survivors only: the victim's HTTP side has nothing to wait for, so what its stop waits for is
        // its node.
        var victim = cluster.Silos[2];
        var victimNode = $"{victim.Name}/cpu0";
        var survivors = cluster.Silos.Where(s => s != victim).ToList();
        var (tenant, key) = await cluster.CreateTenantAsync(survivors[0]);
        var (referenceJob, reference) = await ClusterClient.CompleteAsync(survivors[0], key);

        var jobs = new List<string> { referenceJob };
        var onVictim = await JobsUnderwayOnAsync(victimNode, jobs, key, survivors, withStops: true, deadline);

        // SIGTERM while the victim's node generates: it must run on until its sequences end, then leave.
        var drained = victim.NextLineAsync(line => line.Contains($"Node {victimNode} drained for the silo's stop", StringComparison.Ordinal));
        var exitCode = await victim.TerminateAsync(s_finishBound);
        Assert.True(exitCode == 0, $"{victim.Name} exited with {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (still running)"} after SIGTERM.\n{cluster.Logs}");

        // The jobs its node ran at the signal ended there, with the very output of an uninterrupted greedy run.
        var finals = await Task.WhenAll(jobs.Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, deadline + s_finishBound)));
        var ranOnVictim = onVictim.Select(j => j["id"]!.GetValue<string>()).ToHashSet();
        foreach (var job in finals)
        {
            Assert.True(job["status"]!.GetValue<string>() == "succeeded", $"Job {job["id"]} ended {job["status"]}: {job["error"]}.");
            if (job["id"]!.GetValue<string>() != referenceJob)
            {
                Assert.Equal(reference, job["output"]?.GetValue<string>());
            }

            if (ranOnVictim.Contains(job["id"]!.GetValue<string>()))
            {
                Assert.True(victimNode == job["node_id"]?.GetValue<string>(),
                    $"Job {job["id"]} ran on {victimNode} at the SIGTERM but ended on {job["node_id"]}: it was cut and recomputed.\n{cluster.Logs}");
            }
        }

        // It said so: the process's output was read to its end when it exited.
        Assert.True(drained.IsCompleted, $"{victim.Name} did not log its node's drain.\n{victim.Log}");
        Console.WriteLine($"{victim.Name}: {await drained}");

        await cluster.AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore: 0, survivors[1]);
    }
}
