using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// Builds statements and daily usage from ledger lines, with no storage of its own: the in-memory profile uses it
/// directly, and the SQL views of migration 0011 group <c>tokengrid_charges</c> the same way (a test holds them equal).
/// Only charge lines carrying <see cref="LedgerEntry.Priced"/> make money; amounts are only ever added, never rounded
/// again, so a statement is exactly the sum of its charges.
/// </summary>
public static class StatementBuilder
{
    /// <summary>
    /// The statement of <paramref name="tenantId"/> for <paramref name="period"/> from <paramref name="entries"/> (any
    /// lines of the tenant; those outside the period or not priced charges are skipped), with its late lines when
    /// <paramref name="heldThrough"/> is given (see <see cref="IsLateIn"/>).
    /// </summary>
    public static Statement Build(
        string tenantId, StatementPeriod period, IEnumerable<LedgerEntry> entries, StatementStatus status = StatementStatus.Open,
        DateTimeOffset? closedAt = null, Func<StatementPeriod, long?>? heldThrough = null)
    {
        var charges = entries.Where(e => e.Kind == LedgerEntryKind.Charge && e.Priced is not null).ToList();
        var own = charges.Where(e => e.At >= period.Start && e.At < period.End).Select(e => (Entry: e, LateFrom: (StatementPeriod?)null));
        var late = heldThrough is null
            ? []
            : charges.Where(e => IsLateIn(period, e, heldThrough)).Select(e => (Entry: e, LateFrom: (StatementPeriod?)StatementPeriod.Of(e.At)));
        var lines = own.Concat(late)
            .SelectMany(x => x.Entry.Priced!.Lines.Select(line => (Charge: x.Entry.Priced!, Line: line, x.Entry.Model, x.LateFrom)))
            .GroupBy(x => (x.Model, x.Line.Direction, Region: x.Charge.Place?.Region, x.Charge.Currency, x.Line.UnitPrice, x.LateFrom))
            .Select(g => new StatementLine(
                g.Key.Model, g.Key.Direction, g.Key.Region, g.Key.Currency, g.Key.UnitPrice, g.Sum(x => x.Line.Tokens),
                Sum(g, x => x.Line.List), Sum(g, x => x.Line.Discount), Sum(g, x => x.Line.Subsidy), Sum(g, x => x.Line.Tenant), g.Key.LateFrom));
        return new Statement(tenantId, period, status, closedAt, Order(lines));
    }

    /// <summary>
    /// Whether a priced charge dated before <paramref name="period"/> is a late line of its statement: every month from
    /// the charge's own up to <paramref name="period"/> (exclusive) was closed without it. <paramref name="heldThrough"/>
    /// gives, for a month, null while it is open, else the sequence of the tenant's newest ledger line its close saw
    /// (<see cref="long.MaxValue"/> for a close that recorded none: it is taken to hold every charge dated in it). A
    /// tenant's lines are stored in sequence order, so a close saw exactly the lines up to that sequence. The charge is
    /// thus in exactly one statement: its own month's, or the first later one still open when it was stored.
    /// </summary>
    public static bool IsLateIn(StatementPeriod period, LedgerEntry charge, Func<StatementPeriod, long?> heldThrough)
    {
        if (charge.At >= period.Start)
        {
            return false;
        }

        for (var month = StatementPeriod.Of(charge.At); month.Start < period.Start; month = StatementPeriod.Of(month.End))
        {
            if (heldThrough(month) is not { } held || charge.Sequence <= held)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Statement lines in their one order: the month's own lines first, then late lines by the month they are dated in;
    /// each by model, direction (prompt first), region (none first), currency, unit price;
    /// strings compared ordinally, so every store orders alike.
    /// </summary>
    public static IReadOnlyList<StatementLine> Order(IEnumerable<StatementLine> lines) => [.. lines
        .OrderBy(l => l.LateFrom?.Start ?? DateTimeOffset.MinValue)
        .ThenBy(l => l.Model, StringComparer.Ordinal)
        .ThenBy(l => l.Direction)
        .ThenBy(l => l.Region, StringComparer.Ordinal)
        .ThenBy(l => l.Currency, StringComparer.Ordinal)
        .ThenBy(l => l.UnitPrice)];

    /// <summary>
    /// The charged tokens and their money per UTC day, model and currency for charges on days <paramref name="from"/>
    /// through <paramref name="through"/>, in day, model, currency order.
    /// </summary>
    public static IReadOnlyList<DailyUsage> Daily(IEnumerable<LedgerEntry> entries, DateOnly from, DateOnly through) => Order(entries
        .Where(e => e.Kind == LedgerEntryKind.Charge)
        .Select(e => (Day: DateOnly.FromDateTime(e.At.UtcDateTime), Entry: e))
        .Where(x => x.Day >= from && x.Day <= through)
        .Select(x => x.Entry)
        .GroupBy(e => (Day: DateOnly.FromDateTime(e.At.UtcDateTime), e.Model, e.Priced?.Currency))
        .Select(g => new DailyUsage(
            g.Key.Day, g.Key.Model, g.Key.Currency, g.Sum(e => e.PromptTokens), g.Sum(e => e.CompletionTokens),
            Sum(g, e => Total(e, l => l.List)), Sum(g, e => Total(e, l => l.Discount)), Sum(g, e => Total(e, l => l.Subsidy)),
            Sum(g, e => Total(e, l => l.Tenant)))));

    /// <summary>Daily usage in its one order: day, model, currency (none first).</summary>
    public static IReadOnlyList<DailyUsage> Order(IEnumerable<DailyUsage> days) => [.. days
        .OrderBy(d => d.Day)
        .ThenBy(d => d.Model, StringComparer.Ordinal)
        .ThenBy(d => d.Currency, StringComparer.Ordinal)];

    private static Money Total(LedgerEntry entry, Func<PricedLine, Money> amount) =>
        entry.Priced is { } priced ? Sum(priced.Lines, amount) : Money.Zero;

    private static Money Sum<T>(IEnumerable<T> items, Func<T, Money> amount) =>
        items.Aggregate(Money.Zero, (sum, item) => sum + amount(item));
}
