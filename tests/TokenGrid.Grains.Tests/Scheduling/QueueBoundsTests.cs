using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class QueueBoundsTests(SchedulingClusterFixture grid)
{
    [Fact]
    public async Task A_full_tenant_queue_refuses_with_retry_after_and_queued_jobs_show_their_position()
    {
        var tenant = await grid.CreateTenantAsync(region: "west");
        var jobs = new List<IJobGrain>();
        try
        {
            // West has two slots; long jobs fill them and the tenant's queue (a job that meets end-of-sequence early
            // makes room for one more, hence submitting until refused).
            var refusal = await SubmitUntilRefusedAsync(tenant, jobs);
            Assert.True(jobs.Count >= 2 + SchedulingClusterFixture.MaxQueuedPerTenant, $"refused after only {jobs.Count} jobs");

            Assert.Equal(SchedulingRejection.TenantQueueFull, refusal.SchedulingRejection);
            Assert.InRange(refusal.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.Equal(0, refusal.ChargedTokens);
            var settlement = Assert.Single(grid.Settlements.For(refusal.Id));
            Assert.Equal((0, 0), (settlement.PromptTokens, settlement.CompletionTokens));

            // A queued job shows its place and expected wait: its position over the model's measured drain rate (slots freed).
            var (last, before, after) = await BetweenSnapshotsAsync(() => jobs[^2].GetAsync());
            Assert.Equal(JobStatus.Queued, last!.Status);
            Assert.InRange(last.QueuePosition!.Value, 1, SchedulingClusterFixture.MaxQueuedPerTenant);
            if (after.SlotsFreedPerSecond > 0)
            {
                // The rate only fell between the snapshots (nothing was dispatched), so the wait lies between theirs (to
                // the millisecond: the wait travels as a TimeSpan, and a rate measured over a full window stands still).
                Assert.InRange(last.ExpectedWait!.Value.TotalSeconds,
                    last.QueuePosition.Value / before.SlotsFreedPerSecond - 1e-3, last.QueuePosition.Value / after.SlotsFreedPerSecond + 1e-3);
            }
            else
            {
                Assert.Null(last.ExpectedWait);
            }
        }
        finally
        {
            await SchedulingClusterFixture.CancelAllAsync(jobs);
        }
    }

    [Fact]
    public async Task A_full_model_queue_refuses_with_retry_after()
    {
        var jobs = new List<IJobGrain>();
        try
        {
            // Tenants in region west fill their queues one after another until the model's queue of thirty is full.
            JobInfo? refusal = null;
            for (var t = 0; t < 5 && refusal?.SchedulingRejection != SchedulingRejection.ModelQueueFull; t++)
            {
                refusal = await SubmitUntilRefusedAsync(await grid.CreateTenantAsync(region: "west"), jobs);
            }

            Assert.Equal(SchedulingRejection.ModelQueueFull, refusal!.SchedulingRejection);
            Assert.InRange(refusal.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.Contains("queue", refusal.Error);
            Assert.True(jobs.Count >= SchedulingClusterFixture.MaxQueuedPerModel, $"refused after only {jobs.Count} jobs");

            // Retry-After is the time the measured drain rate takes to work off the model's queue (docs/scheduling.md),
            // in whole seconds within [MinRetryAfter, MaxRetryAfter]: one more job, refused between two snapshots.
            var tenant = await grid.CreateTenantAsync(region: "west");
            var (again, before, after) = await BetweenSnapshotsAsync(async () =>
            {
                var (job, info) = await grid.SubmitAsync(tenant, maxTokens: 900);
                jobs.Add(job);
                return info;
            });
            Assert.Equal(SchedulingRejection.ModelQueueFull, again.SchedulingRejection);
            var options = grid.Cluster.GetSiloServiceProvider().GetRequiredService<IOptions<SchedulingOptions>>().Value;
            Assert.InRange(again.RetryAfter!.Value, RetryAfter(after.Queued, before.SlotsFreedPerSecond, options), RetryAfter(after.Queued, after.SlotsFreedPerSecond, options));
        }
        finally
        {
            await SchedulingClusterFixture.CancelAllAsync(jobs);
        }
    }

    /// <summary>
    /// Runs <paramref name="probe"/> between two snapshots of the model's dispatcher, again until nothing was dispatched
    /// meanwhile: then the queue stood still and the drain rate only fell (same dispatches over a longer span), so what the
    /// dispatcher computed from it lies between what the two snapshots give.
    /// </summary>
    private async Task<(T Result, DispatcherSnapshot Before, DispatcherSnapshot After)> BetweenSnapshotsAsync<T>(Func<Task<T>> probe)
    {
        var dispatcher = grid.Client.GetGrain<IModelDispatcherGrain>(SchedulingClusterFixture.Model);
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            var before = await dispatcher.GetSnapshotAsync();
            var result = await probe();
            var after = await dispatcher.GetSnapshotAsync();
            if (before.Tenants.Sum(t => t.Dispatched) == after.Tenants.Sum(t => t.Dispatched) && before.Queued == after.Queued
                && after.SlotsFreedPerSecond <= before.SlotsFreedPerSecond)
            {
                return (result, before, after);
            }
        }

        Assert.Fail("Jobs kept being dispatched around every probe.");
        return default;
    }

    /// <summary>
    /// The openai npm SDK (5.x, <c>retryRequest</c>) waits as told only for a <c>Retry-After</c> under 60 s; at 60 s or more it
    /// retries after its own half-second backoff, so a default of 60 s would bring the refused request straight back.
    /// </summary>
    [Fact]
    public void The_longest_default_retry_after_is_one_the_openai_sdks_honour() =>
        Assert.InRange(new SchedulingOptions().MaxRetryAfter, new SchedulingOptions().MinRetryAfter, TimeSpan.FromSeconds(59));

    /// <summary>The documented Retry-After: <paramref name="queued"/> jobs over the drain rate, rounded up, within the bounds.</summary>
    private static TimeSpan RetryAfter(int queued, double perSecond, SchedulingOptions options)
    {
        var seconds = TimeSpan.FromSeconds(perSecond > 0 ? Math.Ceiling(queued / perSecond) : options.MaxRetryAfter.TotalSeconds);
        return seconds < options.MinRetryAfter ? options.MinRetryAfter : seconds > options.MaxRetryAfter ? options.MaxRetryAfter : seconds;
    }

    /// <summary>Submits long jobs for the tenant until one is rejected (at most 100); returns the rejected job.</summary>
    private async Task<JobInfo> SubmitUntilRefusedAsync(string tenant, List<IJobGrain> jobs)
    {
        for (var i = 0; i < 100; i++)
        {
            var (job, info) = await grid.SubmitAsync(tenant, maxTokens: 900, promptSeed: i);
            jobs.Add(job);
            if (info.Status == JobStatus.Rejected)
            {
                return info;
            }
        }

        Assert.Fail("The queue never filled.");
        return null!;
    }
}
