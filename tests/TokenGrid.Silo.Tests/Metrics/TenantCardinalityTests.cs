using System.Text.RegularExpressions;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Metrics;

/// <summary>A thousand tenants with usage produce budget series only for the listed tenant and the top N by usage.</summary>
[Collection(MetricsCollection.Name)]
public sealed partial class TenantCardinalityTests(MetricsFixture fixture)
{
    private const int Tenants = 1000;

    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task A_thousand_tenants_give_no_more_tenant_series_than_configured()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, Tenants).Select(i => $"card-{run}-{i:D4}").ToList();

        // Tenant i is charged i + 1 tokens (the listed tenant one), through the tenant grains' real admission and settlement.
        await ForEachAsync(ids.Append(MetricsFixture.WatchedTenant), async (id, index) =>
        {
            var tenant = Server.Grains.GetGrain<ITenantGrain>(id);
            if (await tenant.GetAsync() is null)
            {
                await tenant.CreateAsync(new TenantSpec(id, new TenantBudget()));
            }

            var jobId = $"job-{run}-{index}";
            await tenant.AdmitAsync(new AdmissionRequest(jobId, "demo", 1, Tenants));
            await tenant.SettleAsync(new SettlementRequest(jobId, 1, index < Tenants ? index : 0, JobOutcome.Completed));
        });

        using var anonymous = Server.Client(null);
        var metrics = await anonymous.GetStringAsync("metrics");
        var tenantLabels = TenantLabel().Matches(metrics).Select(m => m.Groups[1].Value).ToHashSet();
        var remaining = Series(metrics, "tokengrid_tenant_budget_remaining_tokens");

        // Tenants near a limit (other tests' or none of these) are published besides, within their own bound.
        var quotas = Series(metrics, "tokengrid_tenant_budget_quota_tokens");
        var nearLimit = remaining.Keys.Where(t => remaining[t] < 0.2 * quotas[t]).ToHashSet();
        Assert.True(nearLimit.Count <= new Grains.Telemetry.TenantSeriesOptions().NearLimit);
        var heaviest = ids.TakeLast(MetricsFixture.TopN).ToHashSet();
        Assert.Equal([.. heaviest, MetricsFixture.WatchedTenant], remaining.Keys.Except(nearLimit).Order());
        Assert.True(tenantLabels.Count <= MetricsFixture.TopN + 1 + nearLimit.Count, $"{tenantLabels.Count} tenants have series: {string.Join(", ", tenantLabels.Take(20))}");
        Assert.Equal(remaining.Keys.ToHashSet(), tenantLabels);

        // The heaviest tenant: charged 1 prompt + 999 completion tokens of the default quota, nothing reserved.
        var quota = new TenantBudget().PeriodQuota;
        Assert.Equal(quota - Tenants, remaining[ids[^1]]);
        Assert.Equal(0, Series(metrics, "tokengrid_tenant_budget_reserved_tokens")[ids[^1]]);
        Assert.Equal(Tenants, Series(metrics, "tokengrid_tenant_budget_charged_tokens")[ids[^1]]);
    }

    [Fact]
    public async Task A_light_tenant_near_its_quota_has_series_beside_the_top_users()
    {
        // TopN heavier tenants than the light one, whatever else this silo hosts (5,005 tokens each).
        var run = Guid.NewGuid().ToString("N")[..8];
        var heavy = Enumerable.Range(0, MetricsFixture.TopN + 1).Select(i => $"heavy-{run}-{i}").ToList();
        await ForEachAsync(heavy, async (id, index) =>
        {
            var tenant = Server.Grains.GetGrain<ITenantGrain>(id);
            await tenant.CreateAsync(new TenantSpec(id, new TenantBudget()));
            for (var i = 0; i < 5; i++)
            {
                var admitted = await tenant.AdmitAsync(new AdmissionRequest($"job-{id}-{i}", "demo", 1, 1000));
                Assert.True(admitted.Admitted, admitted.Message);
                await tenant.SettleAsync(new SettlementRequest($"job-{id}-{i}", 1, 1000, JobOutcome.Completed));
            }
        });

        // The light tenant has 10 % of its quota left: the budget alert's case, though it is the lightest user here.
        var light = $"light-{run}";
        var grain = Server.Grains.GetGrain<ITenantGrain>(light);
        await grain.CreateAsync(new TenantSpec(light, new TenantBudget { PeriodQuota = 1000 }));
        for (var i = 0; i < 2; i++)
        {
            var admitted = await grain.AdmitAsync(new AdmissionRequest($"job-{light}-{i}", "demo", 50, 400));
            Assert.True(admitted.Admitted, admitted.Message);
            await grain.SettleAsync(new SettlementRequest($"job-{light}-{i}", 50, 400, JobOutcome.Completed));
        }

        // The exporter caches a scrape for 300 ms: read until one is newer than the settlements.
        using var anonymous = Server.Client(null);
        var metrics = await anonymous.GetStringAsync("metrics");
        for (var attempt = 0; attempt < 20 && !metrics.Contains(heavy[0], StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(100);
            metrics = await anonymous.GetStringAsync("metrics");
        }

        Assert.Equal(100, Series(metrics, "tokengrid_tenant_budget_remaining_tokens").GetValueOrDefault(light, -1));
        Assert.Equal(1000, Series(metrics, "tokengrid_tenant_budget_quota_tokens")[light]);
        Assert.Contains(heavy[0], Series(metrics, "tokengrid_tenant_budget_remaining_tokens").Keys);
    }

    private static Dictionary<string, double> Series(string metrics, string name) =>
        Regex.Matches(metrics, "^" + name + @"\{[^}]*tenant=""([^""]+)""[^}]*\} (\S+)", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

    private static async Task ForEachAsync(IEnumerable<string> ids, Func<string, int, Task> action)
    {
        var items = ids.Select((id, index) => (id, index)).ToList();
        foreach (var chunk in items.Chunk(50))
        {
            await Task.WhenAll(chunk.Select(item => action(item.id, item.index)));
        }
    }

    [GeneratedRegex(@"tenant=""([^""]+)""")]
    private static partial Regex TenantLabel();
}
