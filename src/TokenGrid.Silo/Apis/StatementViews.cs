using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing.Statements;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// A statement as the API shows it. Amounts are decimal strings with 6 places in their currency ("12.345678"); unit
/// prices are per million tokens.
/// </summary>
public sealed record StatementView(
    string TenantId,
    string Period,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    string Status,
    DateTimeOffset? ClosedAt,
    IReadOnlyList<StatementLineView> Lines,
    IReadOnlyList<StatementTotalView> Totals)
{
    /// <summary>Always <c>billing.statement</c>.</summary>
    public string Object => "billing.statement";

    internal static StatementView Of(Statement statement) => new(
        statement.TenantId, statement.Period.ToString(), statement.Period.Start, statement.Period.End, StatusName(statement.Status),
        statement.ClosedAt, [.. statement.Lines.Select(StatementLineView.Of)], [.. statement.Totals.Select(StatementTotalView.Of)]);

    internal static string StatusName(StatementStatus status) => status == StatementStatus.Closed ? "closed" : "open";

    internal static string DirectionName(TokenDirection direction) => direction == TokenDirection.Prompt ? "prompt" : "completion";
}

/// <summary>
/// One line: tokens of a model, direction and creation region at one unit price, and who pays what. <c>late_from</c> is
/// null for the period's own charges, or the earlier month (<c>yyyy-MM</c>) that a line of late charges is dated in.
/// </summary>
public sealed record StatementLineView(
    string Model, string Direction, string? Region, string Currency, long Tokens, string UnitPrice, string List, string Discount,
    string Subsidy, string AmountDue, string? LateFrom)
{
    internal static StatementLineView Of(StatementLine line) => new(
        line.Model, StatementView.DirectionName(line.Direction), line.Region, line.Currency, line.Tokens, line.UnitPrice.ToString(),
        line.List.ToString(), line.Discount.ToString(), line.Subsidy.ToString(), line.AmountDue.ToString(), line.LateFrom?.ToString());
}

/// <summary>A statement's totals in one currency.</summary>
public sealed record StatementTotalView(string Currency, long Tokens, string List, string Discount, string Subsidy, string AmountDue)
{
    internal static StatementTotalView Of(StatementTotal total) => new(
        total.Currency, total.Tokens, total.List.ToString(), total.Discount.ToString(), total.Subsidy.ToString(), total.AmountDue.ToString());
}

/// <summary>The answer to closing a period: when it was closed and how many statements it stored.</summary>
public sealed record PeriodCloseView(string Period, DateTimeOffset ClosedAt, int Statements)
{
    /// <summary>Always <c>billing.period</c>.</summary>
    public string Object => "billing.period";

    /// <summary>Always <c>closed</c>.</summary>
    public string Status => "closed";

    internal static PeriodCloseView Of(PeriodClose close) => new(close.Period.ToString(), close.ClosedAt, close.Statements);
}

/// <summary>
/// A tenant's charged tokens and their money for one UTC day and model (<c>GET /v1/usage</c>'s <c>daily</c>); tokens of
/// unpriced jobs have a null currency and zero amounts.
/// </summary>
public sealed record DailyUsageView(
    DateOnly Day, string Model, long PromptTokens, long CompletionTokens, string List, string Discount, string Subsidy, string AmountDue,
    string? Currency)
{
    internal static DailyUsageView Of(DailyUsage day) => new(
        day.Day, day.Model, day.PromptTokens, day.CompletionTokens, day.List.ToString(), day.Discount.ToString(), day.Subsidy.ToString(),
        day.AmountDue.ToString(), day.Currency);
}
