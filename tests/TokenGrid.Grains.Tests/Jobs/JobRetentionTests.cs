using TokenGrid.Grains.Jobs.Retention;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>The in-memory expiry store of the local profile and the retention settings' rules.</summary>
public sealed class JobRetentionTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 6, 15, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_in_memory_store_claims_due_entries_in_expiry_order_in_batches_and_retakes_a_lapsed_claim()
    {
        var store = new InMemoryJobContentExpiryStore();
        for (var i = 4; i >= 0; i--)
        {
            await store.ScheduleAsync(new JobContentExpiry($"job_{i}", "t", s_t0.AddMinutes(-i), s_t0.AddMinutes(i)));
        }

        Assert.Equal(s_t0.AddMinutes(-4), await store.OldestFinishedAtAsync());
        var now = s_t0.AddMinutes(3);
        var first = await store.ClaimDueAsync(now, 2, now.AddMinutes(5));
        var second = await store.ClaimDueAsync(now, 10, now.AddMinutes(5));
        Assert.Equal(["job_0", "job_1"], first.Select(e => e.JobId));
        Assert.Equal(["job_2", "job_3"], second.Select(e => e.JobId));
        Assert.Empty(await store.ClaimDueAsync(now, 10, now.AddMinutes(5)));

        await store.RemoveAsync(first.Select(e => e.JobId).ToList());
        Assert.Equal(["job_4"], (await store.ClaimDueAsync(now.AddMinutes(4), 10, now.AddMinutes(9))).Select(e => e.JobId));
        var retaken = await store.ClaimDueAsync(now.AddMinutes(10), 10, now.AddMinutes(15));
        Assert.Equal(["job_2", "job_3", "job_4"], retaken.Select(e => e.JobId));

        // Scheduling again replaces the entry (and drops its claim).
        await store.ScheduleAsync(new JobContentExpiry("job_2", "t", s_t0, s_t0.AddDays(1)));
        Assert.Empty(await store.ClaimDueAsync(now.AddMinutes(10), 10, now.AddMinutes(15)));
        await store.RemoveAsync(["job_2", "job_3", "job_4", "unknown"]);
        Assert.Equal(0, store.Count);
        Assert.Null(await store.OldestFinishedAtAsync());
    }

    [Fact]
    public void Retention_settings_are_checked_and_tenants_override_async_jobs_only()
    {
        var grace = TimeSpan.FromMinutes(2);
        var options = new JobRetentionOptions { Tenants = { ["acme"] = TimeSpan.FromDays(30) } };
        Assert.Null(options.Validate(grace));
        Assert.Equal(TimeSpan.FromDays(30), options.AsyncJobsOf("acme"));
        Assert.Equal(TimeSpan.FromDays(7), options.AsyncJobsOf("other"));

        Assert.Contains("re-attach grace", new JobRetentionOptions { StreamedJobs = TimeSpan.FromMinutes(1) }.Validate(grace));
        Assert.Contains("AsyncJobs", new JobRetentionOptions { AsyncJobs = TimeSpan.Zero }.Validate(grace));
        Assert.Contains("Tenants:acme", new JobRetentionOptions { Tenants = { ["acme"] = TimeSpan.Zero } }.Validate(grace));
        Assert.Contains("SweepInterval", new JobRetentionOptions { SweepInterval = TimeSpan.FromDays(60) }.Validate(grace));
        Assert.Contains("BatchSize", new JobRetentionOptions { BatchSize = 0 }.Validate(grace));
    }
}
