using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Tenants;

[Collection(TenantClusterCollection.Name)]
public sealed class TenantLifecycleTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task Create_stores_the_tenant_on_the_grain_clock_and_lists_it()
    {
        var id = "t-" + Guid.NewGuid().ToString("N");
        var created = await fixture.Grains.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec(" Acme ", new TenantBudget()));

        Assert.Equal(new TenantInfo(id, "Acme", new TenantBudget(), true, fixture.Time.GetUtcNow(), fixture.Time.GetUtcNow()), created);
        Assert.Equal(created, await fixture.Grains.GetGrain<ITenantGrain>(id).GetAsync());
        Assert.Contains(id, await fixture.Grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync());
    }

    [Fact]
    public async Task The_directory_is_sorted()
    {
        var directory = fixture.Grains.GetGrain<ITenantDirectoryGrain>(0);
        var ids = await directory.ListAsync();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public async Task Creating_an_existing_tenant_fails()
    {
        var tenant = await fixture.NewTenantAsync(new TenantBudget());

        var error = await Assert.ThrowsAsync<TenantExistsException>(() => tenant.CreateAsync(new TenantSpec("Again", new TenantBudget())));
        Assert.IsAssignableFrom<InvalidOperationException>(error);
        Assert.Equal("tenant exists", error.Message);
    }

    [Fact]
    public async Task Updating_a_missing_tenant_fails()
    {
        var tenant = fixture.Grains.GetGrain<ITenantGrain>("t-missing-" + Guid.NewGuid().ToString("N"));

        await Assert.ThrowsAsync<TenantNotFoundException>(() => tenant.UpdateAsync(new TenantSpec("x", new TenantBudget())));
        await Assert.ThrowsAsync<TenantNotFoundException>(tenant.GetUsageAsync);
        await Assert.ThrowsAsync<TenantNotFoundException>(() => tenant.IssueKeyAsync("k"));
    }

    public static TheoryData<TenantBudget, string, string> InvalidBudgets => new()
    {
        { new TenantBudget { TokensPerMinute = 0 }, "tokens_per_minute must be at least 1.", "budget.tokens_per_minute" },
        { new TenantBudget { RequestsPerMinute = 0 }, "requests_per_minute must be at least 1.", "budget.requests_per_minute" },
        { new TenantBudget { MaxConcurrentJobs = 0 }, "max_concurrent_jobs must be at least 1.", "budget.max_concurrent_jobs" },
        { new TenantBudget { PeriodQuota = -1 }, "period_quota must not be negative.", "budget.period_quota" },
        { new TenantBudget { Weight = 10_001 }, "weight must be between 1 and 10000.", "budget.weight" },
        { new TenantBudget { Period = (QuotaPeriod)7 }, "period must be daily or monthly.", "budget.period" },
        { new TenantBudget { Plan = TenantPlan.List with { Name = " " } }, "plan.name must not be blank.", "budget.plan.name" },
    };

    [Theory]
    [MemberData(nameof(InvalidBudgets))]
    public async Task An_invalid_budget_is_refused_on_create_and_update_naming_its_field(TenantBudget budget, string message, string field)
    {
        var id = "t-" + Guid.NewGuid().ToString("N");
        var fresh = fixture.Grains.GetGrain<ITenantGrain>(id);
        var error = await Assert.ThrowsAsync<InvalidFieldException>(() => fresh.CreateAsync(new TenantSpec("x", budget)));
        Assert.StartsWith(message, error.Message);
        Assert.Equal(field, error.Field);
        Assert.Null(await fresh.GetAsync());

        var tenant = await fixture.NewTenantAsync(new TenantBudget());
        error = await Assert.ThrowsAsync<InvalidFieldException>(() => tenant.UpdateAsync(new TenantSpec("x", budget)));
        Assert.StartsWith(message, error.Message);
        Assert.Equal(field, error.Field);
        Assert.Equal(new TenantBudget(), (await tenant.GetAsync())!.Budget);
    }

    [Fact]
    public async Task A_blank_name_is_refused()
    {
        var tenant = fixture.Grains.GetGrain<ITenantGrain>("t-" + Guid.NewGuid().ToString("N"));
        var error = await Assert.ThrowsAsync<InvalidFieldException>(() => tenant.CreateAsync(new TenantSpec("  ", new TenantBudget())));
        Assert.StartsWith("name must be", error.Message);
        Assert.Equal("name", error.Field);
    }
}
