using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A tenant's budget, keys and ledger (key: tenant id). Every change is decided one at a time, in arrival order, on the
/// state the previous one left, and answered only once saved; saves are grouped (see <c>TenantGrain.Commit.cs</c>), so
/// concurrent requests cannot overspend and a busy tenant writes once per batch rather than once per request.
/// </summary>
public sealed partial class TenantGrain(
    [PersistentState("tenant", TokenGridStorage.Name)] IPersistentState<TenantState> state,
    TimeProvider timeProvider,
    TokenGridInstruments instruments,
    ILedgerStore ledger,
    IJobIndex jobIndex,
    IGrainFactory grainFactory,
    IOptions<JobRecoveryOptions> recovery,
    ILogger<TenantGrain> logger)
    : Grain, ITenantGrain, IRemindable
{
    private const int MaxNameLength = 200;

    /// <summary>The highest ledger sequence the store has confirmed in this activation.</summary>
    private long _appendedThrough;

    private string TenantId => this.GetPrimaryKeyString();

    private TenantState State => state.State;

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Lines saved with the state but not confirmed by the store (the silo stopped in between) go out again.
        await FlushLedgerAsync();
        await ArmRecoveryAsync();
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> CreateAsync(TenantSpec spec)
    {
        Validate(spec);
        var created = await ApplyAsync(() =>
        {
            if (State.Info is not null)
            {
                throw new TenantExistsException(TenantId);
            }

            var now = timeProvider.GetUtcNow();
            var budget = spec.Budget;
            State.Info = new TenantInfo(TenantId, spec.Name.Trim(), budget, spec.Enabled, now, now);
            State.Tokens = TokenBucket.Full(budget.TokensPerMinute, now);
            State.Requests = TokenBucket.Full(budget.RequestsPerMinute, now);
            State.PeriodStart = QuotaPeriods.StartOf(budget.Period, now);
            return State.Info;
        });
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogCreated(logger, TenantId);
        return created;
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> UpdateAsync(TenantSpec spec)
    {
        Validate(spec);
        var updated = await ApplyAsync(() =>
        {
            var info = RequireTenant();
            var now = timeProvider.GetUtcNow();

            // Settle the buckets and the period under the old budget, then keep the levels within the new capacities.
            CatchUp(now);
            var budget = spec.Budget;
            State.Tokens.Clamp(budget.TokensPerMinute);
            State.Requests.Clamp(budget.RequestsPerMinute);
            State.Info = info with { Name = spec.Name.Trim(), Budget = budget, Enabled = spec.Enabled, UpdatedAt = now };
            return State.Info;
        });

        // Idempotent; repairs the directory if the registration after CreateAsync's save was lost.
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogUpdated(logger, TenantId, spec.Enabled);
        return updated;
    }

    /// <inheritdoc/>
    public Task<TenantInfo?> GetAsync() => Task.FromResult(State.Info);

    /// <summary>
    /// Hands the ledger lines saved with the state to the store.
    /// </summary>
    /// <remarks>
    /// The state is the source of truth and is written first (see <see cref="ApplyAsync{T}"/>), carrying the new lines
    /// in <see cref="TenantState.PendingLedger"/> (an outbox): a line exists exactly when the budget move it records is
    /// saved, in the same write. If the append fails, or the silo stops before it, the lines stay pending and go out
    /// again after the next save or on the next activation; the store skips sequences it already holds, so every line
    /// lands once. Appending first could record moves that a failed state write then undid, and reuse their sequence
    /// numbers.
    /// </remarks>
    private async Task FlushLedgerAsync()
    {
        await AppendLinesAsync([.. State.PendingLedger]);
        PruneAppended();
    }

    /// <summary>Hands saved lines to the store; false (logged, retried later) when it could not take them.</summary>
    private async Task<bool> AppendLinesAsync(List<LedgerEntry> lines)
    {
        if (lines.Count == 0)
        {
            return true;
        }

        try
        {
            await ledger.AppendAsync(TenantId, lines);
            _appendedThrough = Math.Max(_appendedThrough, lines[^1].Sequence);
            return true;
        }
        catch (Exception ex)
        {
            // The budget change is saved; the lines stay pending and are retried, so the caller is not failed.
            LogLedgerAppendFailed(logger, ex, TenantId, lines.Count);
            return false;
        }
    }

    /// <summary>Drops the lines the store confirmed from the outbox (only between saves: the state never changes under a write).</summary>
    private void PruneAppended() => State.PendingLedger.RemoveAll(line => line.Sequence <= _appendedThrough);

    /// <summary>Brings the period and both buckets up to <paramref name="now"/>.</summary>
    private void CatchUp(DateTimeOffset now)
    {
        var budget = State.Info!.Budget;
        var cleared = State.Charged;
        if (LedgerBook.RollPeriod(State, TenantId, now))
        {
            LogPeriodReset(logger, TenantId, State.PeriodStart, cleared);
        }

        State.Tokens.Refill(budget.TokensPerMinute, now);
        State.Requests.Refill(budget.RequestsPerMinute, now);
    }

    private TenantInfo RequireTenant() => State.Info ?? throw new TenantNotFoundException(TenantId);

    private static void Validate(TenantSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Trim().Length > MaxNameLength)
        {
            throw new ArgumentException($"name must be 1 to {MaxNameLength} characters.", nameof(spec));
        }

        if (spec.Budget is null)
        {
            throw new ArgumentException("budget is required.", nameof(spec));
        }

        if (spec.Budget.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(spec));
        }
    }
}
