using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Scheduling;

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

            var last = await jobs[^2].GetAsync();
            Assert.Equal(JobStatus.Queued, last!.Status);
            Assert.InRange(last.QueuePosition!.Value, 1, SchedulingClusterFixture.MaxQueuedPerTenant);
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
        }
        finally
        {
            await SchedulingClusterFixture.CancelAllAsync(jobs);
        }
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
