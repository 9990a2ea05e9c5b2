using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class AdmissionLimitTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task The_concurrency_limit_counts_open_reservations()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { MaxConcurrentJobs = 2 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 1, 1))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("b", "m", 1, 1))).Admitted);

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("c", "m", 1, 1));
        Assert.Equal(AdmissionRejection.ConcurrencyLimited, rejected.Rejection);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.RetryAfter);

        await tenant.SettleAsync(new SettlementRequest("a", 1, 1, JobOutcome.Completed));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("c", "m", 1, 1))).Admitted);
    }

    [Fact]
    public async Task A_concurrency_refusal_quotes_when_enough_open_jobs_should_end_from_how_long_the_latest_ran()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { MaxConcurrentJobs = 2 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 1, 1))).Admitted);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("b", "m", 1, 1))).Admitted);

        // a runs 10 s and b 13 s: the typical job runs 11.5 s. x, cancelled after 1 s, says nothing of how long jobs run.
        fixture.Time.Advance(TimeSpan.FromSeconds(10));
        await tenant.SettleAsync(new SettlementRequest("a", 1, 1, JobOutcome.Completed));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("x", "m", 1, 1))).Admitted);
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await tenant.SettleAsync(new SettlementRequest("x", 1, 1, JobOutcome.Cancelled));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("c", "m", 1, 1))).Admitted);
        fixture.Time.Advance(TimeSpan.FromSeconds(2));
        await tenant.SettleAsync(new SettlementRequest("b", 1, 1, JobOutcome.Completed));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("d", "m", 1, 1))).Admitted);
        fixture.Time.Advance(TimeSpan.FromSeconds(2));

        // c has run 4 s and d 2 s: one place frees in 7.5 s, two in 9.5 s.
        var one = await tenant.AdmitAsync(new AdmissionRequest("e", "m", 1, 1));
        Assert.Equal((AdmissionRejection.ConcurrencyLimited, TimeSpan.FromSeconds(7.5)), (one.Rejection!.Value, one.RetryAfter!.Value));
        var two = await tenant.AdmitGroupAsync([new("f", "m", 1, 1), new("g", "m", 1, 1)]);
        Assert.Equal((AdmissionRejection.ConcurrencyLimited, TimeSpan.FromSeconds(9.5)), (two.Rejection!.Value, two.RetryAfter!.Value));

        // Jobs running past the typical one are due any moment: the shortest wait.
        fixture.Time.Advance(TimeSpan.FromSeconds(20));
        var late = await tenant.AdmitAsync(new AdmissionRequest("h", "m", 1, 1));
        Assert.Equal(JobDurations.Shortest, late.RetryAfter);
    }

    [Fact]
    public async Task An_exhausted_monthly_quota_starts_over_on_the_first_and_open_reservations_carry_over()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { PeriodQuota = 5_000, Period = QuotaPeriod.Monthly });
        var now = fixture.Time.GetUtcNow();
        var nextMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);

        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 1_000, 2_000))).Admitted);
        await tenant.SettleAsync(new SettlementRequest("a", 1_000, 1_500, JobOutcome.Completed));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("open", "m", 1_000, 1_000))).Admitted);

        // 5000 − 2500 charged − 2000 reserved leaves 500.
        var rejected = await tenant.AdmitAsync(new AdmissionRequest("c", "m", 100, 500));
        Assert.Equal(AdmissionRejection.QuotaExhausted, rejected.Rejection);
        Assert.Equal(nextMonth - now, rejected.RetryAfter);
        Assert.Contains("500 of 5000", rejected.Message);

        fixture.Time.Advance(rejected.RetryAfter!.Value);
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("c", "m", 100, 500))).Admitted);

        var usage = await tenant.GetUsageAsync();
        Assert.Equal((nextMonth, nextMonth.AddMonths(1)), (usage.PeriodStart, usage.PeriodEnd));
        Assert.Equal((0L, 2_600L, 2_400L, 2), (usage.Charged, usage.Reserved, usage.Remaining, usage.OpenJobs));
        var reset = Assert.Single(await tenant.ReadLedgerAsync(), e => e.Kind == LedgerEntryKind.PeriodReset);
        Assert.Equal((nextMonth, 2_500L, 0L, 2_000L), (reset.At, reset.Tokens, reset.ChargedAfter, reset.ReservedAfter));

        // The reservation from last month is charged to this one.
        await tenant.SettleAsync(new SettlementRequest("open", 1_000, 700, JobOutcome.Completed));
        usage = await tenant.GetUsageAsync();
        Assert.Equal((1_700L, 600L), (usage.Charged, usage.Reserved));
        TenantTestKit.AssertConsistent(await tenant.ReadLedgerAsync());
    }

    [Fact]
    public async Task A_daily_quota_says_to_retry_at_midnight_utc()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { PeriodQuota = 100, Period = QuotaPeriod.Daily });
        var now = fixture.Time.GetUtcNow();

        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("a", "m", 30, 30))).Admitted);

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("b", "m", 20, 21));

        Assert.Equal(AdmissionRejection.QuotaExhausted, rejected.Rejection);
        Assert.Equal(now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime, rejected.RetryAfter);
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((now.UtcDateTime.Date, now.UtcDateTime.Date.AddDays(1)), (usage.PeriodStart.UtcDateTime, usage.PeriodEnd.UtcDateTime));
    }

    [Fact]
    public async Task A_reservation_above_the_tokens_per_minute_is_never_admissible()
    {
        // The quota is exhausted too, but a request that can never fit is told so first.
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 1_000, PeriodQuota = 10 });

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("a", "m", 600, 401));

        Assert.Equal(AdmissionRejection.RequestTooLarge, rejected.Rejection);
        Assert.Null(rejected.RetryAfter);
        Assert.Contains("never", rejected.Message);
        Assert.Contains("1001", rejected.Message);
    }

    [Fact]
    public async Task A_reservation_above_the_whole_quota_gets_no_retry_time()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { PeriodQuota = 400 });

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("a", "m", 100, 301));

        Assert.Equal(AdmissionRejection.QuotaExhausted, rejected.Rejection);
        Assert.Null(rejected.RetryAfter);
        Assert.Contains("never", rejected.Message);
    }

    [Fact]
    public async Task A_disabled_or_missing_tenant_admits_nothing()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { Priority = PriorityClass.High, Weight = 7 });
        await tenant.UpdateAsync(new TenantSpec("Test tenant", TenantTestKit.Roomy with { Priority = PriorityClass.High, Weight = 7 }, Enabled: false));

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("a", "m", 1, 1));
        Assert.Equal(AdmissionRejection.TenantDisabled, rejected.Rejection);
        Assert.Equal(["a"], await tenant.ListJobIdsAsync(null, 10));

        await tenant.UpdateAsync(new TenantSpec("Test tenant", TenantTestKit.Roomy with { Priority = PriorityClass.High, Weight = 7 }));
        var admitted = await tenant.AdmitAsync(new AdmissionRequest("a", "m", 1, 1));
        Assert.True(admitted.Admitted);
        Assert.Equal((PriorityClass.High, 7), (admitted.Priority, admitted.Weight));

        var missing = fixture.Grains.GetGrain<ITenantGrain>("t-missing-" + Guid.NewGuid().ToString("N"));
        var refused = await missing.AdmitAsync(new AdmissionRequest("a", "m", 1, 1));
        Assert.Equal((false, AdmissionRejection.TenantDisabled), (refused.Admitted, refused.Rejection));
        Assert.Null(await missing.GetAsync());
    }

    [Fact]
    public async Task Job_ids_are_listed_newest_first_whether_admitted_or_rejected()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { MaxConcurrentJobs = 2 });
        foreach (var id in new[] { "j1", "j2", "j3", "j4", "j5" })
        {
            await tenant.AdmitAsync(new AdmissionRequest(id, "m", 1, 1));
        }

        await tenant.AdmitAsync(new AdmissionRequest("j1", "m", 1, 1)); // a repeat is not listed twice

        Assert.Equal(["j5", "j4", "j3"], await tenant.ListJobIdsAsync(null, 3));
        Assert.Equal(["j2", "j1"], await tenant.ListJobIdsAsync("j3", 3));
        Assert.Empty(await tenant.ListJobIdsAsync("j1", 3));
    }
}
