using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class RateLimitTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task An_empty_token_bucket_says_exactly_when_the_reservation_fits()
    {
        // 6000 tokens per minute refill 100 tokens per second.
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 6_000 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("big", "m", 1_000, 5_000))).Admitted);

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("small", "m", 100, 500));
        Assert.False(rejected.Admitted);
        Assert.Equal(AdmissionRejection.TokenRateLimited, rejected.Rejection);
        Assert.Equal(TimeSpan.FromSeconds(6), rejected.RetryAfter);
        Assert.Equal((0L, TimeSpan.FromMinutes(1)), (rejected.Limits.TokensRemaining, rejected.Limits.TokensReset));

        fixture.Time.Advance(rejected.RetryAfter!.Value - TimeSpan.FromTicks(1));
        var early = await tenant.AdmitAsync(new AdmissionRequest("small", "m", 100, 500));
        Assert.Equal(AdmissionRejection.TokenRateLimited, early.Rejection);
        Assert.Equal(TimeSpan.FromTicks(1), early.RetryAfter);

        fixture.Time.Advance(TimeSpan.FromTicks(1));
        var admitted = await tenant.AdmitAsync(new AdmissionRequest("small", "m", 100, 500));
        Assert.True(admitted.Admitted);
        Assert.Equal(0, admitted.Limits.TokensRemaining);
    }

    [Fact]
    public async Task An_empty_request_bucket_says_exactly_when_the_next_request_fits()
    {
        // 3 requests per minute refill one every 20 seconds.
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { RequestsPerMinute = 3 });
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await tenant.AdmitAsync(new AdmissionRequest($"job-{i}", "m", 1, 1))).Admitted);
        }

        var rejected = await tenant.AdmitAsync(new AdmissionRequest("job-3", "m", 1, 1));
        Assert.Equal(AdmissionRejection.RequestRateLimited, rejected.Rejection);
        Assert.Equal(TimeSpan.FromSeconds(20), rejected.RetryAfter);

        fixture.Time.Advance(TimeSpan.FromSeconds(5));
        var limits = await tenant.GetRateLimitsAsync();
        Assert.Equal((3L, 0L, TimeSpan.FromSeconds(55)), (limits.RequestLimit, limits.RequestsRemaining, limits.RequestsReset));
        Assert.Equal(TimeSpan.FromSeconds(15), (await tenant.AdmitAsync(new AdmissionRequest("job-3", "m", 1, 1))).RetryAfter);

        fixture.Time.Advance(TimeSpan.FromSeconds(15));
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-3", "m", 1, 1))).Admitted);
    }

    [Fact]
    public async Task The_snapshot_reports_whole_tokens_left_and_the_time_until_full()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 6_000, RequestsPerMinute = 600 });
        var start = await tenant.GetRateLimitsAsync();
        Assert.Equal(new RateLimitSnapshot(600, 600, TimeSpan.Zero, 6_000, 6_000, TimeSpan.Zero), start);

        var result = await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 500, 1_000));
        Assert.Equal(new RateLimitSnapshot(600, 599, TimeSpan.FromMilliseconds(100), 6_000, 4_500, TimeSpan.FromSeconds(15)), result.Limits);

        fixture.Time.Advance(TimeSpan.FromMilliseconds(2_505));
        // 250.5 tokens flowed in: 4750 whole tokens, and 12.495 s to full.
        Assert.Equal(new RateLimitSnapshot(600, 600, TimeSpan.Zero, 6_000, 4_750, TimeSpan.FromMilliseconds(12_495)), await tenant.GetRateLimitsAsync());
    }

    [Fact]
    public async Task A_new_budget_keeps_bucket_levels_within_the_new_capacity()
    {
        var tenant = await fixture.NewTenantAsync(TenantTestKit.Roomy with { TokensPerMinute = 10_000 });
        Assert.True((await tenant.AdmitAsync(new AdmissionRequest("job-1", "m", 0, 2_000))).Admitted);

        await tenant.UpdateAsync(new TenantSpec("Test tenant", TenantTestKit.Roomy with { TokensPerMinute = 5_000 }));
        var limits = await tenant.GetRateLimitsAsync();
        Assert.Equal((5_000L, 5_000L, TimeSpan.Zero), (limits.TokenLimit, limits.TokensRemaining, limits.TokensReset));

        await tenant.UpdateAsync(new TenantSpec("Test tenant", TenantTestKit.Roomy with { TokensPerMinute = 20_000 }));
        limits = await tenant.GetRateLimitsAsync();
        Assert.Equal((20_000L, 5_000L, TimeSpan.FromSeconds(45)), (limits.TokenLimit, limits.TokensRemaining, limits.TokensReset));
    }
}
