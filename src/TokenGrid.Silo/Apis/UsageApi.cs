using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Apis;

/// <summary>The caller's budget position: <c>GET /v1/usage</c>.</summary>
internal static class UsageApi
{
    public static RouteGroupBuilder MapUsageApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/usage", GetUsageAsync).WithTags("Usage").WithName("GetUsage")
            .WithSummary("Budget, charged, reserved and remaining tokens this period, per model; tokens and money per model and day.");
        return v1;
    }

    internal static async Task<Ok<UsageView>> GetUsageAsync(HttpContext http, IGrainFactory grains, IStatementStore statements, TimeProvider clock)
    {
        var tenant = grains.GetGrain<ITenantGrain>(http.Tenant().TenantId);
        var usage = await tenant.GetUsageAsync();
        var info = await tenant.GetAsync();

        // The period's days so far (UTC): the period ends just before PeriodEnd.
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var lastDay = usage.PeriodEnd == DateTimeOffset.MaxValue ? today : DateOnly.FromDateTime(usage.PeriodEnd.UtcDateTime.AddTicks(-1));
        var daily = await statements.DailyAsync(
            usage.TenantId, DateOnly.FromDateTime(usage.PeriodStart.UtcDateTime), lastDay < today ? lastDay : today, http.RequestAborted);
        return TypedResults.Ok(new UsageView(
            usage.TenantId, usage.PeriodStart, usage.PeriodEnd, usage.Quota, usage.Charged, usage.Reserved, usage.Remaining,
            usage.OpenJobs, info?.Budget ?? new TenantBudget(), usage.Models, [.. daily.Select(DailyUsageView.Of)]));
    }
}

/// <summary>
/// A tenant's usage in the current period and the budget it is measured against; <see cref="Daily"/> holds the period's
/// charged tokens and their money per UTC day and model (docs/billing.md "Usage in money").
/// </summary>
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
    IReadOnlyList<ModelUsage> Models,
    IReadOnlyList<DailyUsageView> Daily)
{
    /// <summary>Always <c>usage</c>.</summary>
    public string Object => "usage";
}
