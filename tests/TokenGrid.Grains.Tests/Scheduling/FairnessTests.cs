using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class FairnessTests(SchedulingClusterFixture grid)
{
    [Fact]
    public async Task Tenants_with_weights_1_and_3_saturating_two_nodes_get_token_shares_within_10_percent_of_1_to_3()
    {
        // The share is measured over a window of 60 jobs on a shared 2-core machine, where a stalled feeder can leave a
        // slot to the other tenant for a while. Up to three independent windows (fresh tenants each): one within ±10%
        // passes. A scheduler that ignores weights gives about 0.5 in every window and fails all three.
        var attempts = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var (share, detail) = await MeasureLightShareAsync();
            if (share is >= 0.25 * 0.9 and <= 0.25 * 1.1)
            {
                return;
            }

            attempts.Add(detail);
        }

        Assert.Fail($"No window gave the light tenant 0.25 ± 10% of the tokens: {string.Join(" | ", attempts)}");
    }

    private async Task<(double Share, string Detail)> MeasureLightShareAsync()
    {
        // Both restricted to region=east: the two nodes cpu1 and cpu2, four slots.
        var light = await grid.CreateTenantAsync(weight: 1, region: "east");
        var heavy = await grid.CreateTenantAsync(weight: 3, region: "east");
        var jobs = new List<(string Tenant, IJobGrain Job)>();
        using var stop = new CancellationTokenSource();
        var finished = 0;
        var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Each tenant keeps twelve jobs submitted (queued or running), so both stay backlogged throughout.
        async Task FeedAsync(string tenant)
        {
            var pending = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                while (pending.Count < SchedulingClusterFixture.MaxQueuedPerTenant)
                {
                    var (job, _) = await grid.SubmitAsync(tenant, maxTokens: 96);
                    lock (jobs)
                    {
                        jobs.Add((tenant, job));
                    }

                    pending.Add(SchedulingClusterFixture.EndedAsync(job));
                }

                pending.Remove(await Task.WhenAny(pending));
                var count = Interlocked.Increment(ref finished);
                if (count == 8)
                {
                    warm.TrySetResult();
                }
                else if (count == 8 + 60)
                {
                    done.TrySetResult();
                }
            }
        }

        var feeders = new[] { FeedAsync(light), FeedAsync(heavy) };
        await warm.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var before = await TokensByTenantAsync(jobs);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var after = await TokensByTenantAsync(jobs);
        var snapshot = await grid.Dispatcher.GetSnapshotAsync();
        await stop.CancelAsync();
        await SchedulingClusterFixture.CancelAllAsync(jobs.Select(j => j.Job).ToList());
        await Task.WhenAll(feeders);

        var lightTokens = after.GetValueOrDefault(light) - before.GetValueOrDefault(light);
        var heavyTokens = after.GetValueOrDefault(heavy) - before.GetValueOrDefault(heavy);
        var lightShare = (double)lightTokens / (lightTokens + heavyTokens);
        return (lightShare, $"light {lightTokens} tokens, heavy {heavyTokens}: share {lightShare:F3} (preemptions so far {snapshot.Preemptions})");
    }

    private static async Task<Dictionary<string, long>> TokensByTenantAsync(List<(string Tenant, IJobGrain Job)> jobs)
    {
        List<(string Tenant, IJobGrain Job)> snapshot;
        lock (jobs)
        {
            snapshot = [.. jobs];
        }

        var infos = await Task.WhenAll(snapshot.Select(async j => (j.Tenant, Info: await j.Job.GetAsync())));
        return infos.GroupBy(i => i.Tenant).ToDictionary(g => g.Key, g => g.Sum(i => (long)(i.Info?.CompletionTokens ?? 0)));
    }
}
