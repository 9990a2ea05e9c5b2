using System.Collections.Concurrent;
using System.Net;

namespace TokenGrid.Silo.Tests.Cluster;

public sealed partial class ClusterFailoverTests
{
    public const string ChaosSeedVariable = "TOKENGRID_CHAOS_SEED";

    /// <summary>
    /// Chaos: under steady load through every live silo, faults one after another: a silo killed outright
    /// (<c>kill -9</c>) and started again, PostgreSQL restarted, another silo killed and started again (which silos, from
    /// a seed: <c>TOKENGRID_CHAOS_SEED</c> explores others). Nothing accepted is lost: every job ends, succeeded or failed
    /// with its reason, settled exactly once; no reservation stays open, not even for a job whose admission died with
    /// its silo before the client heard back; the ledger has no hole. Runs last: it starts again the silo an earlier test
    /// killed.
    /// </summary>
    [Fact]
    public async Task Cluster_4_chaos_silos_killed_and_restarted_and_postgres_restarted_under_load_lose_nothing()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(240);
        var random = new Random(int.TryParse(Environment.GetEnvironmentVariable(ChaosSeedVariable), out var seed) ? seed : 4242);
        foreach (var dead in cluster.Silos.Where(s => s.HasExited).ToList())
        {
            await cluster.RestartAsync(dead);
        }

        var (tenant, key) = await cluster.CreateTenantAsync(cluster.Silos[0]);
        var load = new ChaosLoad(cluster, key, deadline);
        var clients = Enumerable.Range(0, 6).Select(load.RunClientAsync).ToList();

        foreach (var fault in new[] { "silo", "postgres", "silo" })
        {
            // Jobs flow before the fault, and again after it: the cluster recovered by itself.
            await load.WithinAsync(load.AcceptedBeyondAsync(load.Accepted), s_bound, "More accepted jobs");
            if (fault == "silo")
            {
                var live = cluster.Live.ToList();
                var victim = live[random.Next(live.Count)];
                victim.Kill();
                await cluster.RestartAsync(victim);
            }
            else
            {
                var refusals = load.Refused;
                await PostgresAsync("stop -m fast");
                try
                {
                    await load.WithinAsync(load.RefusedBeyondAsync(refusals), s_bound, "More refusals");
                }
                finally
                {
                    await PostgresAsync("start");
                }
            }

            await load.WithinAsync(load.AcceptedBeyondAsync(load.Accepted), s_bound, "More accepted jobs");
        }

        load.Stop();
        await load.WithinAsync(Task.WhenAll(clients), s_bound, "Stopping the clients");
        Assert.True(load.Unexpected.IsEmpty, $"Unexpected answers:\n{string.Join('\n', load.Unexpected)}\n{cluster.Logs}");
        Assert.Equal(3, cluster.Live.Count());

        var finals = await Task.WhenAll(load.JobIds.Select(j => ClusterClient.WaitFinishedAsync(cluster, key, j, deadline)));
        foreach (var job in finals)
        {
            var status = job["status"]!.GetValue<string>();
            Assert.True(status is "succeeded" or "failed", $"Job {job["id"]} ended {status}.");
            Assert.True(status == "succeeded" || !string.IsNullOrWhiteSpace(job["error"]?.GetValue<string>()), $"Job {job["id"]} failed without a reason.");
        }

        // Faults cost a job at most its node, once or twice (MaxNodeLosses is 3), and a restart only delays what jobs
        // save: most jobs succeed. A cluster that failed them all (or half) with good reasons still fails here.
        var failed = finals.Where(j => j["status"]!.GetValue<string>() != "succeeded").ToList();
        Assert.True(2 * failed.Count < finals.Length, $"{failed.Count} of {finals.Length} jobs did not succeed:\n"
            + string.Join('\n', failed.Select(j => $"{j["id"]} {j["status"]}: {j["error"]}")));

        // A job whose dispatcher's silo died while it was queueing asks again (EnqueueRetry) rather than failing.
        Assert.DoesNotContain(failed, j => j["error"]?.GetValue<string>()?.StartsWith("The job could not be queued", StringComparison.Ordinal) == true);

        // Jobs whose admission answer died with a silo are settled by the tenant's recovery: wait for the last of them.
        var via = cluster.Live.First();
        while ((await SiloClusterFixture.UsageAsync(via, key))["open_jobs"]!.GetValue<int>() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Reservations stayed open.\n{cluster.Logs}");
            await Task.Delay(200);
        }

        await cluster.AssertLedgerBalancesAsync(tenant, key, finals, chargedBefore: 0, via);
        Console.WriteLine($"Chaos: {finals.Length} jobs accepted, {failed.Count} failed, {load.Refused} refusals, {load.Dropped} requests cut by a dying silo."
            + string.Concat(failed.GroupBy(j => j["error"]?.GetValue<string>()).Select(g => $"\n  {g.Count()} failed: {g.Key}")));
    }

    /// <summary>
    /// Clients that each submit a short job through a live silo (taking turns), follow it until it ends and submit again,
    /// counting what was accepted, refused (503 with Retry-After) or cut off by a silo dying under the request.
    /// </summary>
    private sealed class ChaosLoad(SiloClusterFixture cluster, string key, DateTime deadline)
    {
        private readonly ConcurrentQueue<string> _accepted = new();
        private readonly List<(Func<bool> Reached, TaskCompletionSource Signal)> _waiters = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentDictionary<int, string> _doing = new();
        private int _refused;
        private int _dropped;

        public ConcurrentQueue<string> Unexpected { get; } = new();

        public IEnumerable<string> JobIds => _accepted;

        public int Accepted => _accepted.Count;

        public int Refused => Volatile.Read(ref _refused);

        public int Dropped => Volatile.Read(ref _dropped);

        public void Stop() => _stop.Cancel();

        /// <summary>
        /// Waits for the load to reach <paramref name="task"/> within <paramref name="bound"/>; a timeout says what each
        /// client was doing and what the silos logged, since a hung request is the failure to explain.
        /// </summary>
        public async Task WithinAsync(Task task, TimeSpan bound, string what)
        {
            try
            {
                await task.WaitAsync(bound);
            }
            catch (TimeoutException)
            {
                var doing = string.Join('\n', _doing.OrderBy(d => d.Key).Select(d => $"  client {d.Key}: {d.Value}"));
                throw new TimeoutException($"{what} took over {bound} ({Accepted} accepted, {Refused} refused, {Dropped} dropped). Clients:\n{doing}\n{cluster.Logs}");
            }
        }

        /// <summary>Completes once more than <paramref name="count"/> jobs were accepted.</summary>
        public Task AcceptedBeyondAsync(int count) => When(() => Accepted > count);

        /// <summary>Completes once more than <paramref name="count"/> submissions were refused.</summary>
        public Task RefusedBeyondAsync(int count) => When(() => Refused > count);

        public async Task RunClientAsync(int client)
        {
            var turn = client;
            while (!_stop.IsCancellationRequested)
            {
                var live = cluster.Live.ToList();
                var silo = live[turn++ % live.Count];
                try
                {
                    _doing[client] = $"submitting through {silo.Name} since {DateTime.UtcNow:HH:mm:ss.fff}";
                    var (status, jobId) = await ClusterClient.TrySubmitAsync(silo, key, maxTokens: 24);
                    if (jobId is null)
                    {
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                        Interlocked.Increment(ref _refused);
                    }
                    else
                    {
                        _accepted.Enqueue(jobId);
                        _doing[client] = $"waiting since {DateTime.UtcNow:HH:mm:ss.fff} for {jobId} (accepted by {silo.Name}) to end";
                        await WaitEndedAsync(jobId);
                    }
                }
                catch (HttpRequestException) when (silo.WasKilled)
                {
                    // The silo died under the request: its answer is lost, so for this client nothing was accepted. A
                    // request a live silo left unanswered until the client's timeout is no drop: it fails the test below.
                    Interlocked.Increment(ref _dropped);
                }
                catch (Exception e)
                {
                    Unexpected.Enqueue($"{silo.Name}: {e.GetType().Name}: {e.Message}");
                    return;
                }

                Signal();
            }

            _doing[client] = "stopped";
        }

        /// <summary>
        /// Polls until the job has ended, settled or not: while PostgreSQL is down a job still ends, and the client goes
        /// on submitting (and is refused) instead of waiting for its settlement.
        /// </summary>
        private async Task WaitEndedAsync(string jobId)
        {
            while (true)
            {
                var via = cluster.Live.First();
                try
                {
                    if ((await cluster.JobAsync(key, jobId, via))?["finished_at"] is not null)
                    {
                        return;
                    }
                }
                catch (HttpRequestException) when (via.WasKilled)
                {
                    // The silo asked died meanwhile; ask a live one. A timeout (a live silo that hung) is a failure.
                }

                Assert.True(DateTime.UtcNow < deadline, $"Job {jobId} did not end.");
                await Task.Delay(50);
            }
        }

        private Task When(Func<bool> reached)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiters)
            {
                _waiters.Add((reached, signal));
            }

            Signal();
            return signal.Task;
        }

        private void Signal()
        {
            lock (_waiters)
            {
                foreach (var waiter in _waiters.Where(w => w.Reached()).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Signal.TrySetResult();
                }
            }
        }
    }
}
