namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// Where statements come from: computed from the ledger's priced charges while their period is open, and stored once,
/// immutably, when it is closed. The in-memory store builds them with <see cref="StatementBuilder"/> from the
/// in-memory ledger; the PostgreSQL store reads the <c>tokengrid_statement_lines</c> view and the
/// <c>tokengrid_statements</c> table (migration 0011). <see cref="StatementBook"/> holds the rules on top.
/// </summary>
public interface IStatementStore
{
    /// <summary>The lines of the tenant's statement for the period, computed now from its priced charges, in order.</summary>
    Task<IReadOnlyList<StatementLine>> ComputeAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default);

    /// <summary>Every period in which the tenant has a priced charge, oldest first.</summary>
    Task<IReadOnlyList<StatementPeriod>> PeriodsWithChargesAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>Every closed period, oldest first.</summary>
    Task<IReadOnlyList<PeriodClose>> ClosedAsync(CancellationToken cancellationToken = default);

    /// <summary>The lines stored for the tenant when <paramref name="period"/> was closed (empty when it had none), in order.</summary>
    Task<IReadOnlyList<StatementLine>> ReadClosedAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes <paramref name="period"/> at <paramref name="closedAt"/>: stores every tenant's statement (tenants with
    /// priced charges in it) at once, all or nothing. When it is closed already, nothing changes and the first close
    /// is returned.
    /// </summary>
    Task<PeriodClose> CloseAsync(StatementPeriod period, DateTimeOffset closedAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// The tenant's charged tokens and money per UTC day, model and currency, from day <paramref name="from"/> through
    /// day <paramref name="through"/>, in day, model, currency order.
    /// </summary>
    Task<IReadOnlyList<DailyUsage>> DailyAsync(string tenantId, DateOnly from, DateOnly through, CancellationToken cancellationToken = default);

    /// <summary>
    /// The flows of <paramref name="period"/> over every tenant: tokens and money per UTC day, demand region (home),
    /// creation region, model and currency, as the <c>tokengrid_flows_daily</c> view gives them, in <see cref="Flows.Order"/>.
    /// </summary>
    Task<IReadOnlyList<FlowRow>> FlowsAsync(StatementPeriod period, CancellationToken cancellationToken = default);

    /// <summary>
    /// The tenants with the largest priced charges dated in <paramref name="period"/> (the sum of their statements'
    /// own <c>amount_due</c>, before late lines), at most <paramref name="limit"/>, largest first (ties by tenant id), and
    /// how many tenants have any.
    /// </summary>
    Task<TopSpenders> TopSpendersAsync(StatementPeriod period, int limit, CancellationToken cancellationToken = default);
}
