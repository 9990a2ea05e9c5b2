namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// The rules of statements over an <see cref="IStatementStore"/>: a closed period's statement is the one stored when it
/// was closed; any other period that has begun is computed from the ledger and marked open; a period can be closed
/// only <see cref="CloseGrace"/> after its month has ended (<see cref="TimeProvider"/>), and closing it again changes
/// nothing.
/// </summary>
public sealed class StatementBook(IStatementStore store, TimeProvider clock)
{
    /// <summary>
    /// How long after its month's end a period can first be closed: 5 minutes. A charge is dated when its tenant applies
    /// the settlement and written with the tenant's next save, which may take up to a command timeout (30 s), on a silo
    /// whose clock may differ a little from the closing silo's. A close right at midnight could miss such a charge, dated
    /// in the month but stored after the close: no statement would hold it, since the next month's selects by date.
    /// </summary>
    public static TimeSpan CloseGrace { get; } = TimeSpan.FromMinutes(5);

    /// <summary>The tenant's statement for <paramref name="period"/>, or null when the period has not begun.</summary>
    public async Task<Statement?> GetAsync(string tenantId, StatementPeriod period, CancellationToken cancellationToken = default)
    {
        if (period.Start > clock.GetUtcNow())
        {
            return null;
        }

        var closed = (await store.ClosedAsync(cancellationToken)).FirstOrDefault(c => c.Period == period);
        return closed is null
            ? new Statement(tenantId, period, StatementStatus.Open, null, await store.ComputeAsync(tenantId, period, cancellationToken))
            : new Statement(tenantId, period, StatementStatus.Closed, closed.ClosedAt, await store.ReadClosedAsync(tenantId, period, cancellationToken));
    }

    /// <summary>
    /// The tenant's statements, oldest first: one per period in which it has priced charges (closed or not), one per
    /// period holding late lines of it, and the current period's, open, even when empty.
    /// </summary>
    public async Task<IReadOnlyList<Statement>> ListAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        var current = StatementPeriod.Of(clock.GetUtcNow());
        var periods = new SortedSet<StatementPeriod>(
            (await store.PeriodsWithChargesAsync(tenantId, cancellationToken)).Append(current), PeriodOrder.Instance);
        var closed = (await store.ClosedAsync(cancellationToken)).ToDictionary(c => c.Period);
        var statements = new List<Statement>();
        var seen = new HashSet<StatementPeriod>();
        while (periods.Count > 0)
        {
            var period = periods.Min;
            periods.Remove(period);
            seen.Add(period);
            var statement = closed.TryGetValue(period, out var close)
                ? new Statement(tenantId, period, StatementStatus.Closed, close.ClosedAt, await store.ReadClosedAsync(tenantId, period, cancellationToken))
                : new Statement(tenantId, period, StatementStatus.Open, null, await store.ComputeAsync(tenantId, period, cancellationToken));
            if (statement.Lines.Count > 0 || period == current)
            {
                statements.Add(statement);
            }

            // A closed month's charges stored after its close are late lines of a later statement (docs/billing.md, "Late
            // charges"), which may hold no charge of its own: look at the next month too, until one is open.
            var next = StatementPeriod.Of(period.End);
            if (close is not null && next.Start <= current.Start && !seen.Contains(next))
            {
                periods.Add(next);
            }
        }

        return statements;
    }

    /// <summary>
    /// Closes <paramref name="period"/>: stores every tenant's statement for it. Idempotent: a closed period answers its
    /// first close.
    /// </summary>
    /// <exception cref="PeriodNotEndedException">The month has not ended <see cref="CloseGrace"/> ago; nothing was stored.</exception>
    public async Task<PeriodClose> CloseAsync(StatementPeriod period, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        if (now >= period.End + CloseGrace)
        {
            return await store.CloseAsync(period, now, cancellationToken);
        }

        // A period closed before the grace existed answers its close, as any close again does.
        return (await store.ClosedAsync(cancellationToken)).FirstOrDefault(c => c.Period == period)
            ?? throw new PeriodNotEndedException(period, period.End + CloseGrace - now);
    }

    private sealed class PeriodOrder : IComparer<StatementPeriod>
    {
        public static PeriodOrder Instance { get; } = new();

        public int Compare(StatementPeriod x, StatementPeriod y) => x.Start.CompareTo(y.Start);
    }
}

/// <summary>A period was to be closed before its month ended, or within <see cref="StatementBook.CloseGrace"/> after.</summary>
public sealed class PeriodNotEndedException(StatementPeriod period, TimeSpan wait)
    : InvalidOperationException(
        $"Period {period} ends at {period.End:O}; it can be closed from {period.End + StatementBook.CloseGrace:O}, {StatementBook.CloseGrace.TotalMinutes:0} minutes later, once every charge dated in it is stored.")
{
    /// <summary>The period.</summary>
    public StatementPeriod Period { get; } = period;

    /// <summary>How long until it can be closed.</summary>
    public TimeSpan Wait { get; } = wait;
}
