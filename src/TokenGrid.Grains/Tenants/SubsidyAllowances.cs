using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A block of a subsidy program's budget that the program reserved for one tenant (its reservation id is
/// <see cref="Id"/>), from which the tenant's grain holds each job's most possible subsidy itself, without asking the
/// program per job. Saved in the tenant's state before any job draws on it.
/// </summary>
[GenerateSerializer, Alias("tg.SubsidyAllowance")]
public sealed class SubsidyAllowance
{
    /// <summary>The program's reservation id: <c>allowance-</c> and a fresh GUID, never reused.</summary>
    [Id(0)] public string Id { get; set; } = "";

    /// <summary>The program.</summary>
    [Id(1)] public string ProgramId { get; set; } = "";

    /// <summary>The start of the program's period (calendar month, UTC) the block was asked in; jobs draw on it only then.</summary>
    [Id(2)] public DateTimeOffset PeriodStart { get; set; }

    /// <summary>What the program reserved.</summary>
    [Id(3)] public Money Granted { get; set; }

    /// <summary>The subsidy of the settled jobs that drew on it: what the program is told it paid when the block is returned.</summary>
    [Id(4)] public Money Spent { get; set; }
}

/// <summary>
/// The tenant's subsidy allowances (<see cref="TenantState.Allowances"/>) and what is held on each: the most possible
/// subsidy of every open job that drew on it, and of every job being priced that has not been decided yet (kept in
/// memory only, keyed by job id, so a refusal, a repeat or a reload of the saved state gives each back exactly once).
/// </summary>
/// <remarks>
/// <para>
/// A job's subsidy is held on the program's latest allowance of the current period when it has room; otherwise the
/// tenant asks the program for a new block of <see cref="BlockJobs"/> times the job's need, doubled for each block asked
/// within <see cref="Linger"/> of the last up to <see cref="MaxBlockJobs"/> (at least the need; the program may grant
/// less, at most an eighth of what it has left, see <c>SubsidyBook.Reserve</c>). An allowance is returned (the
/// program told what it paid, the rest released) once nothing is held on it: a replaced one (or one of a past month) at
/// the settlement that empties it, the current one once it stayed unused for <see cref="Linger"/> (the tenant grain
/// checks while it keeps any, and its recovery reminder after a restart). Returning is the tenant's pending subsidy
/// send, retried until the program has it.
/// </para>
/// <para>
/// Exactness is the per-job reservation's: the program's budget is reserved before any job draws on it, jobs never
/// hold more than a block has left, and the ledger's subsidy lines of the jobs that drew on a block add up to what the
/// program is told. The price is that a program's unspent blocks are held by their tenants until returned, so a
/// program nearly out of budget may refuse (or grant less) while other tenants' blocks still have room. Not thread-safe:
/// the grain's scheduler is its lock.
/// </para>
/// </remarks>
internal sealed class SubsidyAllowances(TimeProvider timeProvider)
{
    /// <summary>A new block is this many times the need of the job that asks for it (more for a busy tenant).</summary>
    public const int BlockJobs = 64;

    /// <summary>The most jobs' needs a block is asked for, however busy the tenant.</summary>
    public const int MaxBlockJobs = 64 * 1024;

    /// <summary>
    /// How long the current allowance stays with the tenant with nothing held on it and no job drawing on it: long enough
    /// that a busy tenant whose jobs all happen to settle at once keeps it, short enough that the program soon has back
    /// what an idle tenant does not use.
    /// </summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, (string AllowanceId, Money Amount)> _pricing = new(StringComparer.Ordinal);
    private readonly ByAllowance<Money> _held = new();
    private readonly ByAllowance<DateTimeOffset> _lastUsed = new();
    private TenantState _state = new();

    /// <summary>Continues from <paramref name="state"/>: what is held is counted again from its open jobs and the jobs being priced.</summary>
    public void Reset(TenantState state)
    {
        _state = state;
        _held.Clear();
        foreach (var open in state.Open.Values)
        {
            if (open.Price is { AllowanceId: { } id, SubsidyGranted: var amount })
            {
                Add(id, amount);
            }
        }

        foreach (var (id, amount) in _pricing.Values)
        {
            Add(id, amount);
        }
    }

    /// <summary>The program's allowance jobs draw on now: its latest of the current period, or null.</summary>
    public SubsidyAllowance? Current(string programId) => Current(programId, timeProvider.GetUtcNow());

    /// <summary>The program's allowance for the month of <paramref name="now"/> (a caller's reading of the clock), if any.</summary>
    public SubsidyAllowance? Current(string programId, DateTimeOffset now)
    {
        // A loop rather than a query: every priced admission and settlement asks.
        var period = QuotaPeriods.StartOf(QuotaPeriod.Monthly, now);
        var allowances = _state.Allowances;
        for (var i = allowances.Count - 1; i >= 0; i--)
        {
            if (allowances[i].ProgramId == programId && allowances[i].PeriodStart == period)
            {
                return allowances[i];
            }
        }

        return null;
    }

    /// <summary>What <paramref name="allowance"/> has left for new jobs.</summary>
    public Money Left(SubsidyAllowance allowance) => allowance.Granted - allowance.Spent - Held(allowance.Id);

    /// <summary>The hold of <paramref name="jobId"/> while it is priced or open: its allowance and amount, or null.</summary>
    public (string AllowanceId, Money Amount)? HoldOf(string jobId) =>
        _pricing.TryGetValue(jobId, out var pricing) ? pricing
        : _state.Open.TryGetValue(jobId, out var open) && open.Price is { AllowanceId: { } id } price ? (id, price.SubsidyGranted)
        : null;

    /// <summary>
    /// Holds <paramref name="amount"/> of <paramref name="allowance"/> for a job being priced; false when the allowance
    /// was returned meanwhile (a recovery tick's step may run between its keeping and its first use). <paramref name="now"/>:
    /// the pricing's reading of the clock, the allowance's last use.
    /// </summary>
    public bool TryHold(string jobId, SubsidyAllowance allowance, Money amount, DateTimeOffset now)
    {
        if (!_state.Allowances.Contains(allowance))
        {
            return false;
        }

        _pricing[jobId] = (allowance.Id, amount);
        Add(allowance.Id, amount);
        _lastUsed.Set(allowance.Id, now);
        return true;
    }

    /// <summary>The job was admitted: its hold is now its open reservation's.</summary>
    public void Admitted(string jobId) => _pricing.Remove(jobId);

    /// <summary>Gives back the hold of a job being priced that was not admitted; nothing for any other job.</summary>
    public void Release(string jobId)
    {
        if (_pricing.Remove(jobId, out var hold))
        {
            Add(hold.AllowanceId, Money.Zero - hold.Amount);
        }
    }

    /// <summary>Keeps a block the program granted (a step of the state, saved before any job draws on it).</summary>
    public void Keep(SubsidyAllowance allowance)
    {
        if (!_state.Allowances.Any(a => a.Id == allowance.Id))
        {
            _state.Allowances.Add(allowance);
            _lastUsed.Set(allowance.Id, timeProvider.GetUtcNow());
        }
    }

    /// <summary>
    /// A job that held <paramref name="held"/> of <paramref name="allowanceId"/> settled with <paramref name="spent"/>
    /// of subsidy (a step of the state): an allowance no job draws on any more (a newer one took its place, or its month
    /// ended) is returned once nothing is held on it; the current one lingers (see <see cref="ReturnIdle"/>).
    /// </summary>
    public void Settled(string allowanceId, Money held, Money spent)
    {
        Add(allowanceId, Money.Zero - held);
        if (Find(allowanceId) is { } allowance)
        {
            allowance.Spent += spent;
            if (Held(allowanceId) == Money.Zero && Current(allowance.ProgramId) != allowance)
            {
                Return(allowance);
            }
        }
    }

    /// <summary>
    /// Returns every allowance nothing is held on that no job drew on for <see cref="Linger"/> (or that no job will
    /// draw on again), as a step of the state; how many.
    /// </summary>
    public int ReturnIdle()
    {
        var idle = _state.Allowances.Where(IsIdle).ToList();
        idle.ForEach(Return);
        return idle.Count;
    }

    /// <summary>Whether <see cref="ReturnIdle"/> would return any allowance now.</summary>
    public bool AnyIdle => _state.Allowances.Any(IsIdle);

    /// <summary>Whether <paramref name="reservationId"/> is an allowance the tenant keeps or still has to return.</summary>
    public bool Holds(string reservationId) =>
        _state.Allowances.Any(a => a.Id == reservationId) || _state.PendingSubsidies.Any(p => p.JobId == reservationId);

    private Money Held(string allowanceId) => _held.Get(allowanceId) ?? Money.Zero;

    private SubsidyAllowance? Find(string allowanceId)
    {
        foreach (var allowance in _state.Allowances)
        {
            if (allowance.Id == allowanceId)
            {
                return allowance;
            }
        }

        return null;
    }

    private bool IsIdle(SubsidyAllowance allowance) =>
        Held(allowance.Id) == Money.Zero
        && (Current(allowance.ProgramId) != allowance
            || _lastUsed.Get(allowance.Id) is not { } used || timeProvider.GetUtcNow() - used >= Linger);

    private void Return(SubsidyAllowance allowance)
    {
        _state.Allowances.Remove(allowance);
        _held.Remove(allowance.Id);
        _lastUsed.Remove(allowance.Id);
        _state.PendingSubsidies.Add(new PendingSubsidy(allowance.Id, allowance.ProgramId, allowance.Spent));
    }

    private void Add(string allowanceId, Money amount)
    {
        var held = Held(allowanceId) + amount;
        if (held == Money.Zero)
        {
            _held.Remove(allowanceId);
        }
        else
        {
            _held.Set(allowanceId, held);
        }
    }

    /// <summary>
    /// A map from allowance id to <typeparamref name="T"/> for the few allowances a tenant has at once (one per program,
    /// and those being returned): a scan of a short list, in which the id is usually the very string the caller holds,
    /// costs less than hashing a 42-character id several times on every priced admission and settlement.
    /// </summary>
    private sealed class ByAllowance<T>
        where T : struct
    {
        private readonly List<(string Id, T Value)> _entries = [];

        public T? Get(string id)
        {
            var i = IndexOf(id);
            return i < 0 ? null : _entries[i].Value;
        }

        public void Set(string id, T value)
        {
            var i = IndexOf(id);
            if (i < 0)
            {
                _entries.Add((id, value));
            }
            else
            {
                _entries[i] = (id, value);
            }
        }

        public void Remove(string id)
        {
            var i = IndexOf(id);
            if (i >= 0)
            {
                _entries.RemoveAt(i);
            }
        }

        public void Clear() => _entries.Clear();

        private int IndexOf(string id)
        {
            for (var i = 0; i < _entries.Count; i++)
            {
                if (string.Equals(_entries[i].Id, id, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
