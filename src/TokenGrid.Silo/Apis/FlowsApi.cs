using TokenGrid.Grains.Billing.Statements;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Oversight: <c>GET /admin/flows?period=yyyy-MM</c> (auditor or admin key; default the current month): tokens and money
/// per UTC day from each creation region's compute to each demand region, per model and currency, over every tenant.
/// The same rows as the <c>tokengrid_flows_daily</c> view; no prompt or output is in them.
/// </summary>
internal static class FlowsApi
{
    public static RouteGroupBuilder MapAuditFlowsApi(this RouteGroupBuilder audit)
    {
        audit.MapGet("/flows", ListAsync).WithTags("Admin").WithName("ListFlows").AcceptsQuery("period")
            .WithSummary("Token and money flows by demand region, creation region, model and day for a month.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return audit;
    }

    private static async Task<Ok<FlowList>> ListAsync(
        HttpRequest request, string? period, IStatementStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        QueryValues.Once(request, "period");
        var month = period is null ? StatementPeriod.Of(clock.GetUtcNow()) : StatementsApi.ParsePeriod(period);
        var rows = await store.FlowsAsync(month, cancellationToken);
        return TypedResults.Ok(new FlowList(month.ToString(), [.. rows.Select(r => new FlowView(
            r.Day, r.DemandRegion, r.CreationRegion, r.Model, r.Currency, r.Tenants, r.PromptTokens, r.CompletionTokens,
            r.List.ToString(), r.Discount.ToString(), r.Subsidy.ToString(), r.AmountDue.ToString()))]));
    }
}

/// <summary>A month's flows.</summary>
public sealed record FlowList(string Period, IReadOnlyList<FlowView> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>One flow row; amounts are decimal strings with 6 places.</summary>
public sealed record FlowView(
    DateOnly Day, string? DemandRegion, string? CreationRegion, string Model, string Currency, long Tenants, long PromptTokens,
    long CompletionTokens, string List, string Discount, string Subsidy, string AmountDue);
