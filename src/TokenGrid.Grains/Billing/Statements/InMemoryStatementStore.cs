using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// The statements of the local profile: computed with <see cref="StatementBuilder"/> from the
/// <see cref="InMemoryLedgerStore"/>, closed ones kept in this process (lost on restart, as the ledger is).
/// </summary>
public sealed class InMemoryStatementStore(InMemoryLedgerStore ledger) : IStatementStore
{
    private readonly Dictionary<StatementPeriod, Closed> _closed = [];

    /// <inheritdoc/>
    public Task<IReadOnlyList<StatementLine>> ComputeAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default)
    {
        lock (_closed)
        {
            return Task.FromResult(StatementBuilder.Build(tenantId, period, ledger.Lines(tenantId), heldThrough: HeldThrough(tenantId)).Lines);
        }
    }

    /// <summary>For <see cref="StatementBuilder.IsLateIn"/>: the tenant's newest sequence each closed month saw. Under the lock.</summary>
    private Func<StatementPeriod, long?> HeldThrough(string tenantId) => month =>
        _closed.TryGetValue(month, out var closed) ? closed.HeldThrough.GetValueOrDefault(tenantId) : null;

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
            var heldThrough = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var tenantId in ledger.TenantIds())
            {
                var entries = ledger.Lines(tenantId);
                heldThrough[tenantId] = entries.Count == 0 ? 0 : entries[^1].Sequence;
                var lines = StatementBuilder.Build(tenantId, period, entries, heldThrough: HeldThrough(tenantId)).Lines;
                if (lines.Count > 0)
                {
                    statements[tenantId] = lines;
                }
            }

            var close = new PeriodClose(period, closedAt, statements.Count);
            _closed[period] = new Closed(close, statements, heldThrough);
            return Task.FromResult(close);
        }
    }

    /// <inheritdoc/>
    public Task<TopSpenders> TopSpendersAsync(StatementPeriod period, int limit, CancellationToken cancellationToken = default)
    {
        var spenders = ledger.TenantIds()
            .Select(t => StatementBuilder.Build(t, period, ledger.Lines(t)))
            .Where(statement => statement.Lines.Count > 0)
            .Select(statement => new TenantSpend(statement.TenantId, statement.Totals.Aggregate(Money.Zero, (sum, total) => sum + total.AmountDue)))
            .OrderByDescending(s => s.AmountDue.Micros).ThenBy(s => s.TenantId, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(new TopSpenders([.. spenders.Take(limit)], spenders.Count));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<DailyUsage>> DailyAsync(string tenantId, DateOnly from, DateOnly through, CancellationToken cancellationToken = default) =>
        Task.FromResult(StatementBuilder.Daily(ledger.Lines(tenantId), from, through));

    /// <summary>A closed period: its close, its statements and each tenant's newest ledger sequence it saw.</summary>
    private sealed record Closed(PeriodClose Close, Dictionary<string, IReadOnlyList<StatementLine>> Statements, Dictionary<string, long> HeldThrough);
}
