using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Apis;

/// <summary>The caller's budget position: <c>GET /v1/usage</c>.</summary>
internal static class UsageApi
{
    public static RouteGroupBuilder MapUsageApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/usage", GetUsageAsync).WithTags("Usage").WithName("GetUsage").WithSummary("Budget, charged, reserved and remaining tokens this period, per model.");
        return v1;
    }

    internal static async Task<Ok<UsageView>> GetUsageAsync(HttpContext http, IGrainFactory grains)
    {
        var tenant = grains.GetGrain<ITenantGrain>(http.Tenant().TenantId);
        var usage = await tenant.GetUsageAsync();
        var info = await tenant.GetAsync();
        return TypedResults.Ok(new UsageView(
            usage.TenantId, usage.PeriodStart, usage.PeriodEnd, usage.Quota, usage.Charged, usage.Reserved, usage.Remaining,
            usage.OpenJobs, info?.Budget ?? new TenantBudget(), usage.Models));
    }
}

/// <summary>A tenant's usage in the current period and the budget it is measured against.</summary>
public sealed record UsageView(
    string TenantId,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    long Quota,
    long Charged,
    long Reserved,
    long Remaining,
    int OpenJobs,
    TenantBudget Budget,
    IReadOnlyList<ModelUsage> Models)
{
    /// <summary>Always <c>usage</c>.</summary>
    public string Object => "usage";
}
