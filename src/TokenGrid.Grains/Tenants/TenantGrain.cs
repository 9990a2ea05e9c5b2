using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A tenant's budget, keys and ledger (key: tenant id). Every change is decided one at a time, in arrival order, on the
/// state the previous one left, and answered only once saved; saves are grouped (see <c>TenantGrain.Commit.cs</c>), so
/// concurrent requests cannot overspend and a busy tenant writes once per batch rather than once per request. The
/// state is kept by an <see cref="ITenantStore"/>, which saves the ledger lines and job ids of each batch with it.
/// </summary>
public sealed partial class TenantGrain(
    ITenantStore store,
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

    /// <summary>The state as the applied changes left it (saved, or being saved, by the commit loop).</summary>
    private TenantState State { get; set; } = new();

    /// <inheritdoc/>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        await SyncRecoveryAsync();
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
