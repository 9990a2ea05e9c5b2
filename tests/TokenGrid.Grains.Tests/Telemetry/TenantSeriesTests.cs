using Microsoft.Extensions.Time.Testing;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tests.Telemetry;

/// <summary>
/// Which tenants get budget series: besides the listed and the heaviest, every tenant near its quota or spend cap (the
/// ones the budget and spend alerts are about), within a bound whatever the number of tenants.
/// </summary>
public sealed class TenantSeriesTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_light_tenant_near_its_quota_is_published_beside_the_top_users()
    {
        var series = new TenantSeries(new TenantSeriesOptions { TopN = 2 }, _time);
        series.Update(new TenantBudgetSample("heavy-1", 10_000_000, 5000, 0));
        series.Update(new TenantBudgetSample("heavy-2", 10_000_000, 4000, 0));
        series.Update(new TenantBudgetSample("middle", 10_000_000, 3000, 0));
        series.Update(new TenantBudgetSample("light", 1000, 936, 0));   // 6.4 % left: the budget alert's case
        series.Update(new TenantBudgetSample("quarter", 1000, 750, 0)); // 25 % left: not near

        Assert.Equal(["heavy-1", "heavy-2", "light"], series.Published().Select(t => t.Tenant));
    }

    [Fact]
    public void A_light_tenant_at_half_its_spend_cap_or_more_is_published()
    {
        var series = new TenantSeries(new TenantSeriesOptions { TopN = 1 }, _time);
        series.Update(new TenantBudgetSample("heavy", 10_000_000, 5000, 0));
        series.Update(new TenantBudgetSample("capped", 10_000_000, 10, 0, SpendCharged: 1_000_000, SpendCap: 1_000_000));
        series.Update(new TenantBudgetSample("half", 10_000_000, 10, 0, SpendCharged: 500_000, SpendCap: 1_000_000));
        series.Update(new TenantBudgetSample("low", 10_000_000, 10, 0, SpendCharged: 400_000, SpendCap: 1_000_000));
        series.Update(new TenantBudgetSample("uncapped", 10_000_000, 10, 0, SpendCharged: 400_000, SpendCap: 0));

        Assert.Equal(["heavy", "capped", "half"], series.Published().Select(t => t.Tenant));
    }

    [Fact]
    public void Near_limit_tenants_are_bounded_and_the_closest_are_published()
    {
        var series = new TenantSeries(new TenantSeriesOptions { TopN = 0, NearLimit = 3 }, _time);
        for (var i = 0; i < 1000; i++)
        {
            // Tenant i has 100 + i of its 10,000 tokens left: tenant 0 is the closest to its quota.
            series.Update(new TenantBudgetSample($"t{i:D4}", 10_000, 9900 - i, 0));
        }

        Assert.Equal(["t0000", "t0001", "t0002"], series.Published().Select(t => t.Tenant));
    }

    [Fact]
    public void A_tenant_no_longer_near_its_limit_loses_its_series()
    {
        var series = new TenantSeries(new TenantSeriesOptions { TopN = 1 }, _time);
        series.Update(new TenantBudgetSample("heavy", 10_000_000, 5000, 0));
        series.Update(new TenantBudgetSample("light", 1000, 950, 0));
        Assert.Contains("light", series.Published().Select(t => t.Tenant));

        // The quota was raised: 95 % of it left.
        series.Update(new TenantBudgetSample("light", 20_000, 950, 0));
        Assert.Equal(["heavy"], series.Published().Select(t => t.Tenant));
    }
}
