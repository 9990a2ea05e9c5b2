using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// The statements of the local profile: computed with <see cref="StatementBuilder"/> from the
/// <see cref="InMemoryLedgerStore"/>, closed ones kept in this process (lost on restart, as the ledger is).
/// </summary>
public sealed class InMemoryStatementStore(InMemoryLedgerStore ledger) : IStatementStore
{
    private readonly Dictionary<StatementPeriod, (PeriodClose Close, Dictionary<string, IReadOnlyList<StatementLine>> Statements)> _closed = [];

    /// <inheritdoc/>
    public Task<IReadOnlyList<StatementLine>> ComputeAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default) =>
        Task.FromResult(StatementBuilder.Build(tenantId, period, ledger.Lines(tenantId)).Lines);

    /// <inheritdoc/>
    /// <inheritdoc/>
    public Task<IReadOnlyList<FlowRow>> FlowsAsync(StatementPeriod period, CancellationToken cancellationToken = default) =>
        Task.FromResult(Flows.Build(period, ledger.TenantIds().Select(t => (t, ledger.Lines(t)))));

    /// <inheritdoc/>
    public Task<IReadOnlyList<StatementPeriod>> PeriodsWithChargesAsync(string tenantId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StatementPeriod>>([.. ledger.Lines(tenantId)
            .Where(e => e.Priced is not null)
            .Select(e => StatementPeriod.Of(e.At))
            .Distinct()
            .OrderBy(p => p.Start)]);

    /// <inheritdoc/>
    public Task<IReadOnlyList<PeriodClose>> ClosedAsync(CancellationToken cancellationToken = default)
    {
        lock (_closed)
        {
            return Task.FromResult<IReadOnlyList<PeriodClose>>([.. _closed.Values.Select(c => c.Close).OrderBy(c => c.Period.Start)]);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StatementLine>> ReadClosedAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default)
    {
        lock (_closed)
        {
            return Task.FromResult(_closed.TryGetValue(period, out var closed) && closed.Statements.TryGetValue(tenantId, out var lines) ? lines : []);
        }
    }

    /// <inheritdoc/>
    public Task<PeriodClose> CloseAsync(StatementPeriod period, DateTimeOffset closedAt, CancellationToken cancellationToken = default)
    {
        lock (_closed)
        {
            if (_closed.TryGetValue(period, out var closed))
            {
                return Task.FromResult(closed.Close);
            }

            var statements = new Dictionary<string, IReadOnlyList<StatementLine>>(StringComparer.Ordinal);
            foreach (var tenantId in ledger.TenantIds())
            {
                var lines = StatementBuilder.Build(tenantId, period, ledger.Lines(tenantId)).Lines;
                if (lines.Count > 0)
                {
                    statements[tenantId] = lines;
                }
            }

            var close = new PeriodClose(period, closedAt, statements.Count);
            _closed[period] = (close, statements);
            return Task.FromResult(close);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DailyUsage>> DailyAsync(string tenantId, DateOnly from, DateOnly through, CancellationToken cancellationToken = default) =>
        Task.FromResult(StatementBuilder.Daily(ledger.Lines(tenantId), from, through));
}
