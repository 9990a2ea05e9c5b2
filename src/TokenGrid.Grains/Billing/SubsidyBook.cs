using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// A subsidy program's budget decisions, one at a time, on its <see cref="SubsidyProgramState"/>; no awaits (the
/// grain saves what this changes). The budget is per calendar month (UTC): in every period, spent plus reserved never
/// goes over the budget by a reservation (a budget lowered by the admin below what is already held only stops new
/// reservations).
/// </summary>
/// <remarks>
/// A reservation belongs to the period it was made in, and its settlement is charged there even when it arrives after
/// the month ended: a job admitted on the 31st is paid from that month's budget, and the new month starts with its
/// whole budget. Past periods are kept (<see cref="SubsidyProgramState.PeriodHistory"/>, and any that still hold
/// open reservations) for that.
/// </remarks>
public sealed class SubsidyBook(TimeProvider timeProvider)
{
    private HashSet<string> _settled = new(StringComparer.Ordinal);

    /// <summary>The state as the applied changes left it.</summary>
    public SubsidyProgramState State { get; private set; } = new();

    /// <summary>Whether a change was applied since <see cref="MarkSaved"/>.</summary>
    public bool Dirty { get; private set; }

    /// <summary>Continues from <paramref name="state"/> (as loaded), with nothing unsaved.</summary>
    public void Reset(SubsidyProgramState state)
    {
        State = state;
        _settled = new HashSet<string>(state.Settled, StringComparer.Ordinal);
        Dirty = false;
    }

    /// <summary>The applied changes are saved.</summary>
    public void MarkSaved() => Dirty = false;

    /// <summary>A reason <paramref name="program"/> is invalid, or null.</summary>
    public static string? Validate(SubsidyProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return string.IsNullOrWhiteSpace(program.Id) ? "id must not be blank."
            : program.ShareBasisPoints is < 0 or > Pricing.BasisPointsPerWhole ? "share_bps must be between 0 and 10000."
            : program.BudgetPerPeriod < Money.Zero ? "budget_per_period must not be negative."
            : !Enum.IsDefined(program.OnExhausted) ? "on_exhausted must be 'full_price' or 'refuse'."
            : null;
    }

    /// <summary>Creates or changes the program; a new budget applies to the current period.</summary>
    public SubsidyProgramInfo Put(SubsidyProgram program)
    {
        if (Validate(program) is { } invalid)
        {
            throw new ArgumentException(invalid, nameof(program));
        }

        var now = timeProvider.GetUtcNow();
        State.Program = program;
        Roll(now);
        Changed(now);
        return Info()!;
    }

    /// <summary>The program and its current period's position, or null before it is put. Changes nothing.</summary>
    public SubsidyProgramInfo? Info()
    {
        if (State.Program is not { } program)
        {
            return null;
        }

        // A period that has not begun here yet (no change since the month turned) starts empty.
        var start = QuotaPeriods.StartOf(QuotaPeriod.Monthly, timeProvider.GetUtcNow());
        var current = State.Periods.Count > 0 && State.Periods[^1].Start >= start ? State.Periods[^1] : null;
        var spent = current?.Spent ?? Money.Zero;
        var reserved = current?.Reserved ?? Money.Zero;
        return new SubsidyProgramInfo(program, current?.Start ?? start, spent, reserved, Left(program, spent, reserved), State.UpdatedAt);
    }

    /// <summary>How much of what is left one block (a reservation asking for more than its minimum) may take: 1/8.</summary>
    public const int BlockShareDivisor = 8;

    /// <summary>
    /// Reserves up to <paramref name="wanted"/> for a job, or for a tenant's allowance block when
    /// <paramref name="minimum"/> (default: all of <paramref name="wanted"/>) is less: a block gets at most an eighth of
    /// what is left, and never less than its minimum while that much is left, so blocks shrink as the budget runs low
    /// instead of one tenant holding the rest. A repeat for an open reservation returns it; one settled lately, or an
    /// unknown program, gets nothing. Out of budget, a <see cref="SubsidyExhaustion.Refuse"/> program refuses
    /// (reserving nothing) unless the minimum is left; a <see cref="SubsidyExhaustion.FullPrice"/> one grants what is
    /// left (perhaps nothing).
    /// </summary>
    public SubsidyGrant Reserve(string tenantId, string jobId, Money wanted, Money? minimum = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        ArgumentOutOfRangeException.ThrowIfLessThan(wanted.Micros, 0, nameof(wanted));
        if (State.Program is not { } program)
        {
            return new SubsidyGrant(Money.Zero, false);
        }

        if (State.Open.TryGetValue(jobId, out var open))
        {
            return new SubsidyGrant(open.Amount, false);
        }

        if (_settled.Contains(jobId))
        {
            return new SubsidyGrant(Money.Zero, false);
        }

        var now = timeProvider.GetUtcNow();
        Roll(now);
        var period = State.Periods[^1];
        var left = Left(program, period.Spent, period.Reserved);
        var least = minimum is { } asked ? Money.Min(asked, wanted) : wanted;
        ArgumentOutOfRangeException.ThrowIfLessThan(least.Micros, 0, nameof(minimum));
        if (program.OnExhausted == SubsidyExhaustion.Refuse && left < least)
        {
            return new SubsidyGrant(Money.Zero, true);
        }

        var block = Money.Max(least, new Money(left.Micros / BlockShareDivisor));
        var granted = Money.Min(Money.Min(wanted, block), left);
        if (granted > Money.Zero)
        {
            // A grant of nothing holds nothing, so it is not recorded (nor saved).
            State.Open[jobId] = new SubsidyReservation(tenantId, granted, period.Start, now);
            period.Reserved += granted;
            Changed(now);
        }

        return new SubsidyGrant(granted, false);
    }

    /// <summary>
    /// Ends a job's reservation: charges <paramref name="spent"/> (at most the reservation) to the period it was
    /// reserved in and releases the rest. Returns false, changing nothing, for a job with no open reservation of
    /// <paramref name="tenantId"/> (a repeat, or a job that was granted nothing).
    /// </summary>
    public bool Settle(string tenantId, string jobId, Money spent)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        ArgumentOutOfRangeException.ThrowIfLessThan(spent.Micros, 0, nameof(spent));
        if (!State.Open.TryGetValue(jobId, out var open) || !string.Equals(open.TenantId, tenantId, StringComparison.Ordinal))
        {
            return false;
        }

        var now = timeProvider.GetUtcNow();
        Roll(now);

        // Periods holding open reservations are never dropped, so the reservation's own period is there.
        var period = State.Periods.Find(p => p.Start == open.PeriodStart) ?? State.Periods[^1];
        period.Reserved -= open.Amount;
        period.Spent += Money.Min(spent, open.Amount);
        State.Open.Remove(jobId);
        RememberSettled(jobId);
        Changed(now);
        return true;
    }

    /// <summary>
    /// Releases (settles for nothing) the reservation of <paramref name="jobId"/> made at <paramref name="reservedAt"/>;
    /// false when it is no longer open (it settled meanwhile).
    /// </summary>
    public bool Release(string jobId, DateTimeOffset reservedAt) =>
        State.Open.TryGetValue(jobId, out var open) && open.ReservedAt == reservedAt && Settle(open.TenantId, jobId, Money.Zero);

    /// <summary>The open reservations made at or before <paramref name="cutoff"/>, oldest first.</summary>
    public IReadOnlyList<KeyValuePair<string, SubsidyReservation>> OpenSince(DateTimeOffset cutoff) =>
        [.. State.Open.Where(o => o.Value.ReservedAt <= cutoff).OrderBy(o => o.Value.ReservedAt)];

    /// <summary>What is left of the budget, never below zero (the admin may lower it below what is held).</summary>
    private static Money Left(SubsidyProgram program, Money spent, Money reserved)
    {
        var left = program.BudgetPerPeriod - spent - reserved;
        return left > Money.Zero ? left : Money.Zero;
    }

    /// <summary>Starts the period holding <paramref name="now"/> if it is not the current one; drops old idle periods.</summary>
    private void Roll(DateTimeOffset now)
    {
        var start = QuotaPeriods.StartOf(QuotaPeriod.Monthly, now);
        if (State.Periods.Count > 0 && State.Periods[^1].Start >= start)
        {
            // The current period (or a clock stepping back: the period does not go back with it).
            return;
        }

        State.Periods.Add(new SubsidyPeriod { Start = start });
        while (State.Periods.Count > SubsidyProgramState.PeriodHistory && State.Periods[0].Reserved == Money.Zero)
        {
            State.Periods.RemoveAt(0);
        }

        Dirty = true;
    }

    private void RememberSettled(string jobId)
    {
        State.Settled.Add(jobId);
        _settled.Add(jobId);
        if (State.Settled.Count > SubsidyProgramState.SettledWindow)
        {
            _settled.Remove(State.Settled[0]);
            State.Settled.RemoveAt(0);
        }
    }

    private void Changed(DateTimeOffset now)
    {
        State.UpdatedAt = now;
        Dirty = true;
    }
}
