using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A tenant's budget, keys and ledger (key: tenant id). Non-reentrant: each admission or settlement runs alone from
/// check to saved state, so concurrent requests cannot overspend.
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
        await CommitAsync();
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogCreated(logger, TenantId);
        return State.Info;
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> UpdateAsync(TenantSpec spec)
    {
        Validate(spec);
        var info = RequireTenant();
        var now = timeProvider.GetUtcNow();

        // Settle the buckets and the period under the old budget, then keep the levels within the new capacities.
        CatchUp(now);
        var budget = spec.Budget;
        State.Tokens.Clamp(budget.TokensPerMinute);
        State.Requests.Clamp(budget.RequestsPerMinute);
        State.Info = info with { Name = spec.Name.Trim(), Budget = budget, Enabled = spec.Enabled, UpdatedAt = now };
        await CommitAsync();

        // Idempotent; repairs the directory if the registration after CreateAsync's save was lost.
        await grainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        LogUpdated(logger, TenantId, spec.Enabled);
        return State.Info;
    }

    /// <inheritdoc/>
    public Task<TenantInfo?> GetAsync() => Task.FromResult(State.Info);

    /// <summary>
    /// Saves the state, then hands its new ledger lines to the store.
    /// </summary>
    /// <remarks>
    /// The state is the source of truth and is written first, carrying the new lines in
    /// <see cref="TenantState.PendingLedger"/> (an outbox). If the append fails, or the silo stops before it, the lines
    /// stay pending and go out again with the next operation or on the next activation; the store skips sequences it
    /// already holds, so every line lands once. Appending first could record moves that a failed state write then
    /// undid, and reuse their sequence numbers.
    /// </remarks>
    private async Task CommitAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Memory now holds changes storage refused; start over from storage on the next call.
            DeactivateOnIdle();
            throw;
        }

        await FlushLedgerAsync();
    }

    private async Task FlushLedgerAsync()
    {
        var pending = State.PendingLedger;
        if (pending.Count == 0)
        {
            return;
        }

        try
        {
            await ledger.AppendAsync(TenantId, [.. pending]);
            pending.Clear();
        }
        catch (Exception ex)
        {
            // The budget change is saved; the lines stay pending and are retried, so the caller is not failed.
            LogLedgerAppendFailed(logger, ex, TenantId, pending.Count);
        }
    }

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
