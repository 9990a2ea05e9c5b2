using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Spend threshold events: <c>GET /v1/billing/events</c> (the caller's own) and
/// <c>GET /admin/tenants/{id}/billing/events</c> (auditor or admin). An event is raised once per period when a tenant's
/// charged spend reaches 50, 80 and 100 percent of its spend cap; the latest dozen are kept.
/// </summary>
internal static class BillingEventsApi
{
    public static RouteGroupBuilder MapBillingEventsApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/billing/events", (HttpContext http, IGrainFactory grains) => ListAsync(grains, http.Tenant().TenantId))
            .WithTags("Billing").WithName("ListBillingEvents").WithSummary("The caller's spend threshold events, oldest first.");
        return v1;
    }

    public static RouteGroupBuilder MapAuditBillingEventsApi(this RouteGroupBuilder audit)
    {
        audit.MapGet("/tenants/{id}/billing/events", (string id, IGrainFactory grains) => ListAsync(grains, id))
            .WithTags("Admin").WithName("ListTenantBillingEvents").WithSummary("A tenant's spend threshold events, oldest first.");
        return audit;
    }

    private static async Task<Ok<BillingEventList>> ListAsync(IGrainFactory grains, string tenantId)
    {
        var events = await grains.GetGrain<ITenantGrain>(tenantId).GetSpendEventsAsync();
        return TypedResults.Ok(new BillingEventList([.. events.Select(e => new BillingEventView(
            e.Id, e.At, e.PeriodStart, e.Percent, e.Spent.ToString(), e.Cap.ToString(), e.Currency))]));
    }
}

/// <summary>A list of billing events.</summary>
public sealed record BillingEventList(IReadOnlyList<BillingEventView> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>One spend threshold event: the charged spend reached <paramref name="Percent"/> of the cap.</summary>
public sealed record BillingEventView(string Id, DateTimeOffset At, DateTimeOffset PeriodStart, int Percent, string Spent, string Cap, string Currency)
{
    /// <summary>Always <c>billing.spend_threshold</c>.</summary>
    public string Object => "billing.spend_threshold";
}
