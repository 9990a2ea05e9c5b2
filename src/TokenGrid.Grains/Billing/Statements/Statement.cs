using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>Whether a statement can still change.</summary>
public enum StatementStatus
{
    /// <summary>The period is not closed: the statement is computed from the ledger each time it is read.</summary>
    Open,

    /// <summary>The period was closed: the statement was stored then and never changes.</summary>
    Closed,
}

/// <summary>
/// One line of a statement: the priced tokens of one model, direction, creation region (the region label of the nodes
/// that created them; null when they have none), currency and unit price (per million tokens, list) in the period.
/// A price change in the period gives two lines. <c>List = Discount + Subsidy + AmountDue</c> exactly, because every
/// charge it sums does; <see cref="AmountDue"/> is the tenant's share. <see cref="LateFrom"/> is set on a line of late
/// charges: charges dated in that earlier month and stored after it was closed (docs/billing.md, "Late charges").
/// </summary>
public sealed record StatementLine(
    string Model,
    TokenDirection Direction,
    string? Region,
    string Currency,
    Money UnitPrice,
    long Tokens,
    Money List,
    Money Discount,
    Money Subsidy,
    Money AmountDue,
    StatementPeriod? LateFrom = null);

/// <summary>A statement's totals in one currency (a rate card never changes currency, so there is one in practice).</summary>
public sealed record StatementTotal(string Currency, long Tokens, Money List, Money Discount, Money Subsidy, Money AmountDue);

/// <summary>One tenant's statement for one period: its lines in statement order and their totals.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="Period">The calendar month (UTC).</param>
/// <param name="Status">Open (computed now) or closed (stored).</param>
/// <param name="ClosedAt">When the period was closed; null while it is open.</param>
/// <param name="Lines">One per model, direction, creation region, currency and unit price.</param>
public sealed record Statement(
    string TenantId, StatementPeriod Period, StatementStatus Status, DateTimeOffset? ClosedAt, IReadOnlyList<StatementLine> Lines)
{
    /// <summary>The lines summed per currency, in currency order.</summary>
    public IReadOnlyList<StatementTotal> Totals { get; } = [.. Lines
        .GroupBy(l => l.Currency, StringComparer.Ordinal)
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .Select(g => new StatementTotal(
            g.Key, g.Sum(l => l.Tokens), Sum(g, l => l.List), Sum(g, l => l.Discount), Sum(g, l => l.Subsidy), Sum(g, l => l.AmountDue)))];

    private static Money Sum(IEnumerable<StatementLine> lines, Func<StatementLine, Money> amount) =>
        lines.Aggregate(Money.Zero, (sum, line) => sum + amount(line));
}

/// <summary>A closed period: when it was closed and how many tenants' statements it stored.</summary>
public sealed record PeriodClose(StatementPeriod Period, DateTimeOffset ClosedAt, int Statements);

/// <summary>
/// A tenant's charged tokens and their money for one model, UTC day and currency. Tokens of unpriced charges have a
/// null currency and no money.
/// </summary>
public sealed record DailyUsage(
    DateOnly Day, string Model, string? Currency, long PromptTokens, long CompletionTokens, Money List, Money Discount, Money Subsidy, Money AmountDue);

/// <summary>A tenant's priced charges in a period: what it owes for them (its share, after discount and subsidy).</summary>
public sealed record TenantSpend(string TenantId, Money AmountDue);

/// <summary>The largest spenders of a period, largest first, and how many tenants spent anything in it.</summary>
public sealed record TopSpenders(IReadOnlyList<TenantSpend> Top, int Tenants);
