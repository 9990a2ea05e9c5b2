using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// A light tenant's jobs do not wait behind a heavy tenant's queue: an order of events, not a timing. How long the light
/// tenant waits, idle against loaded, is a figure for the <c>fairness</c> benchmark, not for a test on a shared machine.
/// </summary>
[Collection(SchedulingCollection.Name)]
public sealed class TimeToFirstTokenTests(SchedulingClusterFixture grid)
{
    private const int LightJobs = 5;

    [Fact]
    public async Task A_light_tenants_job_starts_ahead_of_a_heavy_tenant_that_floods_the_queue()
    {
        // Both in region west: one node and two slots.
        var light = await grid.CreateTenantAsync(region: "west");
        var heavy = await grid.CreateTenantAsync(region: "west");

        // The heavy tenant fills both slots with long jobs and keeps its queue full (two feeders of seven jobs each).
        using var stop = new CancellationTokenSource();
        var flood = new List<IJobGrain>();
        async Task FloodAsync()
        {
            var pending = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                while (pending.Count < 7)
                {
                    var (job, info) = await grid.SubmitAsync(heavy, maxTokens: 100);
                    lock (flood)
                    {
                        flood.Add(job);
                    }

                    pending.Add(info.Status == JobStatus.Rejected ? Task.CompletedTask : SchedulingClusterFixture.EndedAsync(job));
                }

                pending.Remove(await Task.WhenAny(pending));
            }
        }

        var flooding = Task.WhenAll(Enumerable.Range(0, 2).Select(_ => FloodAsync()));
        await Poll.UntilAsync(grid.Dispatcher.GetSnapshotAsync, s => s.Queued >= SchedulingClusterFixture.MaxQueuedPerTenant - 2, "the heavy tenant's queue is full");

        var lights = new List<(JobInfo Info, int Queued)>();
        for (var i = 0; i < LightJobs; i++)
        {
            var queued = (await grid.Dispatcher.GetSnapshotAsync()).Queued;
            var (job, _) = await grid.SubmitAsync(light, maxTokens: 2, promptSeed: i);
            var info = await SchedulingClusterFixture.FinishedAsync(job);
            Assert.Equal(JobStatus.Succeeded, info.Status);
            lights.Add((info, queued));
        }

        await stop.CancelAsync();
        await flooding;
        await SchedulingClusterFixture.CancelAllAsync(flood);
        var heavies = await Task.WhenAll(flood.Select(job => job.GetAsync()));
        var heavyFirstTokens = heavies.Select(info => info?.FirstTokenAt).OfType<DateTimeOffset>().ToList();

        foreach (var (info, queued) in lights)
        {
            // First come, first served would start every queued heavy job first. Fair queueing starts the light job at
            // the next free slot: only heavy jobs placed before it was submitted (a slot each) or beside it may start
            // between its submission and its first token.
            Assert.True(queued >= 6, $"the heavy tenant did not flood the queue ({queued} jobs waiting)");
            var overtaking = heavyFirstTokens.Count(at => at > info.SubmittedAt && at < info.FirstTokenAt!.Value);
            Assert.True(
                overtaking <= SchedulingClusterFixture.Slots + 1,
                $"{overtaking} of the heavy tenant's jobs started while a light job submitted with {queued} waiting was queued.");
        }
    }
}
