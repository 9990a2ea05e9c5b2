using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// Tokens and money that flowed on one UTC day from the compute of <paramref name="CreationRegion"/> (the node's
/// <c>region</c> label) to the demand of <paramref name="DemandRegion"/> (the tenants' home region), for one model and
/// currency: a row of the <c>tokengrid_flows_daily</c> view. Either region is null where it is not set.
/// </summary>
public sealed record FlowRow(
    DateOnly Day,
    string? DemandRegion,
    string? CreationRegion,
    string Model,
    string Currency,
    long Tenants,
    long PromptTokens,
    long CompletionTokens,
    Money List,
    Money Discount,
    Money Subsidy,
    Money AmountDue);

/// <summary>Builds flow rows from priced ledger lines, as the <c>tokengrid_flows_daily</c> view groups them.</summary>
public static class Flows
{
    /// <summary>The flows of <paramref name="period"/> over every tenant's lines, in day, demand, creation, model, currency order.</summary>
    public static IReadOnlyList<FlowRow> Build(StatementPeriod period, IEnumerable<(string TenantId, IReadOnlyList<LedgerEntry> Lines)> tenants)
    {
        ArgumentNullException.ThrowIfNull(tenants);
        var rows = tenants
            .SelectMany(t => t.Lines.Where(e => e.Priced is not null && e.At >= period.Start && e.At < period.End)
                .SelectMany(e => e.Priced!.Lines.Select(l => (t.TenantId, Entry: e, Line: l))))
            .GroupBy(x => (
                Day: DateOnly.FromDateTime(x.Entry.At.UtcDateTime), Demand: x.Entry.Priced!.HomeRegion, Creation: x.Entry.Priced.Place?.Region,
                x.Entry.Model, x.Entry.Priced.Currency))
            .Select(g => new FlowRow(
                g.Key.Day, g.Key.Demand, g.Key.Creation, g.Key.Model, g.Key.Currency,
                g.Select(x => x.TenantId).Distinct(StringComparer.Ordinal).Count(),
                g.Where(x => x.Line.Direction == TokenDirection.Prompt).Sum(x => x.Line.Tokens),
                g.Where(x => x.Line.Direction == TokenDirection.Completion).Sum(x => x.Line.Tokens),
                Sum(g, x => x.Line.List), Sum(g, x => x.Line.Discount), Sum(g, x => x.Line.Subsidy), Sum(g, x => x.Line.Tenant)));
        return Order(rows);
    }

    /// <summary>Flow rows in one order for every store (ordinal, nulls first), not a database's collation.</summary>
    public static IReadOnlyList<FlowRow> Order(IEnumerable<FlowRow> rows) =>
        [.. rows.OrderBy(r => r.Day).ThenBy(r => r.DemandRegion, StringComparer.Ordinal).ThenBy(r => r.CreationRegion, StringComparer.Ordinal)
            .ThenBy(r => r.Model, StringComparer.Ordinal).ThenBy(r => r.Currency, StringComparer.Ordinal)];

    private static Money Sum<T>(IEnumerable<T> items, Func<T, Money> amount) => items.Aggregate(Money.Zero, (sum, x) => sum + amount(x));
}
