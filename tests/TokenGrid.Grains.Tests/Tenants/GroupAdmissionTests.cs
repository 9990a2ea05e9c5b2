using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>The choices of an n &gt; 1 request are admitted in one decision: all of them or none.</summary>
[Collection(TenantClusterCollection.Name)]
public sealed class GroupAdmissionTests(TenantClusterFixture fixture)
{
    private static AdmissionRequest[] Group(string prefix, int prompt, int max, int n) =>
        [.. Enumerable.Range(0, n).Select(i => new AdmissionRequest($"{prefix}-{i}", "m", i == 0 ? prompt : 0, max))];

    [Fact]
    public async Task A_group_reserves_the_prompt_once_and_each_choice_its_completion()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy);
        var admitted = await tenant.AdmitGroupAsync(Group("g", 7, 10, 3));
        Assert.True(admitted.Admitted);
        Assert.Equal(37, admitted.Reserved);

        // Each choice's job then finds its reservation open: admitted, nothing reserved twice.
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("g-1", "m", 0, 10))).Admitted);
        var usage = await tenant.GetUsageAsync();
        Assert.Equal((37L, 3), (usage.Reserved, usage.OpenJobs));

        await tenant.SettleAsync(new SettlementRequest("g-0", 7, 10, JobOutcome.Completed));
        await tenant.SettleAsync(new SettlementRequest("g-1", 0, 4, JobOutcome.Completed));
        await tenant.SettleAsync(new SettlementRequest("g-2", 0, 10, JobOutcome.Completed));
        usage = await tenant.GetUsageAsync();
        Assert.Equal((31L, 0L), (usage.Charged, usage.Reserved));
        TenantTestKit.AssertConsistent(await tenant.ReadLedgerAsync());
    }

    [Fact]
    public async Task A_group_that_does_not_fit_whole_reserves_nothing()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { MaxConcurrentJobs = 3, PeriodQuota = 50 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("single", "m", 1, 1))).Admitted);

        // Two of the three would fit the concurrency limit, and one choice the quota: neither is admitted in part.
        var concurrency = await tenant.AdmitGroupAsync(Group("c", 1, 1, 3));
        Assert.Equal(AdmissionRejection.ConcurrencyLimited, concurrency.Rejection);
        Assert.Contains("needs 3", concurrency.Message);
        var quota = await tenant.AdmitGroupAsync(Group("q", 5, 25, 2));
        Assert.Equal(AdmissionRejection.QuotaExhausted, quota.Rejection);

        var usage = await tenant.GetUsageAsync();
        Assert.Equal((2L, 1), (usage.Reserved, usage.OpenJobs));
        Assert.DoesNotContain(await tenant.ReadLedgerAsync(), e => e.JobId.StartsWith("c-", StringComparison.Ordinal) || e.JobId.StartsWith("q-", StringComparison.Ordinal));
        Assert.True((await tenant.AdmitGroupAsync(Group("fits", 5, 10, 2))).Admitted);

        // More choices than the tenant may ever run at once can never be admitted, so it is not worth a retry.
        var never = await tenant.AdmitGroupAsync(Group("never", 1, 1, 4));
        Assert.Equal((AdmissionRejection.RequestTooLarge, (TimeSpan?)null), (never.Rejection, never.RetryAfter));
    }
}
