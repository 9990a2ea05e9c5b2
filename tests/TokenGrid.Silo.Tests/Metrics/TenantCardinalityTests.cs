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

        var heaviest = ids.TakeLast(MetricsFixture.TopN).ToHashSet();
        Assert.Equal([.. heaviest, MetricsFixture.WatchedTenant], remaining.Keys.Order());
        Assert.True(tenantLabels.Count <= MetricsFixture.TopN + 1, $"{tenantLabels.Count} tenants have series: {string.Join(", ", tenantLabels.Take(20))}");
        Assert.Equal(remaining.Keys.ToHashSet(), tenantLabels);

        // The heaviest tenant: charged 1 prompt + 999 completion tokens of the default quota, nothing reserved.
        var quota = new TenantBudget().PeriodQuota;
        Assert.Equal(quota - Tenants, remaining[ids[^1]]);
        Assert.Equal(0, Series(metrics, "tokengrid_tenant_budget_reserved_tokens")[ids[^1]]);
        Assert.Equal(Tenants, Series(metrics, "tokengrid_tenant_budget_charged_tokens")[ids[^1]]);
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
