using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Prices a tenant's admissions before the account decides them: the quote in force (from the grain's leased copy of
/// the rate card), the plan, and the subsidy program's share, whose most possible amount is reserved with the program
/// first. A reservation the account then refuses is released; one whose admission never got saved is released by the
/// program's own leak repair (<see cref="ITenantGrain.HoldsJobAsync"/>). After settlement it tells each program what it
/// paid. Not thread-safe: the grain's scheduler is its lock.
/// </summary>
/// <param name="tenantId">The tenant.</param>
/// <param name="grains">Reaches the rate card and the programs.</param>
/// <param name="allowances">The tenant's blocks of programs' budgets, which jobs' subsidies are held on.</param>
/// <param name="keep">Saves a block the program granted in the tenant's state (a step of its group commit).</param>
/// <param name="timeProvider">The clock.</param>
/// <param name="logger">The tenant grain's logger.</param>
internal sealed partial class TenantPricing(
    string tenantId, IGrainFactory grains, SubsidyAllowances allowances, Func<SubsidyAllowance, Task> keep, TimeProvider timeProvider, ILogger logger)
{
    private readonly PriceBook _book = new(grains, timeProvider);

    /// <summary>The block being asked of each program, which jobs needing one wait for.</summary>
    private readonly Dictionary<string, Task<SubsidyAllowance?>> _leasing = new(StringComparer.Ordinal);

    /// <summary>How long a block's size is remembered: a tenant busy again within it asks for as much as last time.</summary>
    private static readonly TimeSpan SizeMemory = TimeSpan.FromSeconds(30);

    /// <summary>Per program: when the last block was asked, and how many jobs' needs it was.</summary>
    private readonly Dictionary<string, (DateTimeOffset At, int Jobs)> _lastLease = new(StringComparer.Ordinal);

    /// <summary>
    /// The price of <paramref name="request"/> (null: the card does not price its model, or the tenant cannot be
    /// admitted anyway), or the refusal of a subsidy program out of budget.
    /// </summary>
    /// <remarks>
    /// <paramref name="capPrecheck"/> is asked, before the program is, whether the spend cap refuses the request even at
    /// the least it can cost (the program paying all it is asked for): such a request is refused without holding any of
    /// the program's budget, which a burst of them would otherwise keep from the requests that are admitted.
    /// </remarks>
    public async ValueTask<(JobPrice? Price, Refusal? Refusal)> PriceAsync(
        TenantInfo? tenant, AdmissionRequest request, Func<Money, string, DateTimeOffset, Refusal?>? capPrecheck = null)
    {
        // One reading of the clock for the whole decision (read again only after an await).
        var now = timeProvider.GetUtcNow();
        if (tenant is not { Enabled: true, Budget: var budget } || await _book.QuoteAsync(request.Model, now) is not { } quote)
        {
            return (null, null);
        }

        var program = budget.SubsidyProgram is { } id ? await _book.ProgramAsync(id, now) : null;
        var share = program?.ShareBasisPoints ?? 0;
        var granted = Money.Zero;
        string? allowanceId = null;
        var (wanted, least) = JobCost.Bounds(quote, budget.Plan, share, request.PromptTokens, request.MaxCompletionTokens);
        if (wanted > Money.Zero)
        {
            if (capPrecheck?.Invoke(least, quote.Currency, now) is { } overCap)
            {
                return (null, overCap);
            }

            var grant = await HoldSubsidyAsync(program!.Id, request.JobId, wanted, now);
            if (grant is null)
            {
                now = timeProvider.GetUtcNow();
                var next = QuotaPeriods.EndOf(QuotaPeriod.Monthly, QuotaPeriods.StartOf(QuotaPeriod.Monthly, now));
                return (null, new Refusal(AdmissionRejection.SubsidyExhausted,
                    $"Subsidy program '{program.Id}' has spent its budget for the month and refuses its tenants until it starts over at {next:u}.",
                    next - now));
            }

            (granted, allowanceId) = grant.Value;
        }

        // Granted all it asked for (or nothing asked), the most it can cost is the least found above.
        var most = granted == wanted ? least : JobCost.MaxTenant(quote, budget.Plan, share, granted, request.PromptTokens, request.MaxCompletionTokens);
        return (new JobPrice(quote, budget.Plan, program?.Id, share, granted, most, budget.HomeRegion, allowanceId), null);
    }

    /// <summary>
    /// The spend cap's refusal of a group (the choices of a request with <c>n</c> &gt; 1) at the least the whole group
    /// can cost, its program paying all it is asked for; null when the cap allows that much, or when the card does not
    /// price the model or no program pays a share (the group's admission checks its most possible cost then). Asked once
    /// for the group, before any choice holds a subsidy, so the refusal states the group's cost rather than a choice's.
    /// </summary>
    public async ValueTask<Refusal?> PrecheckGroupAsync(
        TenantInfo? tenant, IReadOnlyList<AdmissionRequest> requests, Func<Money, string, DateTimeOffset, Refusal?> capPrecheck)
    {
        var now = timeProvider.GetUtcNow();
        if (tenant is not { Enabled: true, Budget: var budget } || await _book.QuoteAsync(requests[0].Model, now) is not { } quote)
        {
            return null;
        }

        var share = budget.SubsidyProgram is { } id && await _book.ProgramAsync(id, now) is { } program ? program.ShareBasisPoints : 0;
        var (wanted, least) = (Money.Zero, Money.Zero);
        foreach (var request in requests)
        {
            var bounds = JobCost.Bounds(quote, budget.Plan, share, request.PromptTokens, request.MaxCompletionTokens);
            (wanted, least) = (wanted + bounds.MaxSubsidy, least + bounds.MaxTenant);
        }

        return wanted > Money.Zero ? capPrecheck(least, quote.Currency, timeProvider.GetUtcNow()) : null;
    }

    /// <summary>
    /// Holds up to <paramref name="wanted"/> of subsidy for a job on the program's current allowance, asking the program
    /// for a new block (kept in the saved state first) when it has too little left; the amount held (less than wanted
    /// only when the program's budget runs low) and its allowance, or null when the program refuses.
    /// </summary>
    private async ValueTask<(Money Granted, string? AllowanceId)?> HoldSubsidyAsync(string programId, string jobId, Money wanted, DateTimeOffset now)
    {
        while (true)
        {
            if (allowances.HoldOf(jobId) is { } held)
            {
                // A repeat of a job being priced or open: its hold stands (the account answers the repeat).
                return (held.Amount, held.AllowanceId);
            }

            if (allowances.Current(programId, now) is { } current && allowances.Left(current) >= wanted && allowances.TryHold(jobId, current, wanted, now))
            {
                if (allowances.Left(current).Micros < current.Granted.Micros / 4 && !_leasing.ContainsKey(programId))
                {
                    // Running low: the next block is asked now, so no job waits for it when this one runs out.
                    StartLease(programId, wanted).Ignore();
                }

                return (wanted, current.Id);
            }

            if (_leasing.TryGetValue(programId, out var leasing))
            {
                // One block asked at a time per program; the jobs waiting for it try again once it is kept.
                await leasing;
                now = timeProvider.GetUtcNow();
                continue;
            }

            var block = await StartLease(programId, wanted);
            now = timeProvider.GetUtcNow();
            if (block is null)
            {
                return null;
            }

            if (block.Granted == Money.Zero)
            {
                // Out of budget, at full price: no subsidy (a grant of nothing holds nothing, with the program or here).
                return (Money.Zero, null);
            }

            var part = Money.Min(wanted, allowances.Left(block));
            if (part > Money.Zero && allowances.TryHold(jobId, block, part, now))
            {
                return (part, block.Id);
            }
        }
    }

    /// <summary>Asks the program for a block (see <see cref="LeaseAsync"/>) as the one lease of the program in flight.</summary>
    private async Task<SubsidyAllowance?> StartLease(string programId, Money wanted)
    {
        var lease = LeaseAsync(programId, wanted);
        _leasing[programId] = lease;
        try
        {
            return await lease;
        }
        finally
        {
            _leasing.Remove(programId);
        }
    }

    /// <summary>Asks the program for a block and keeps it in the saved state; null when the program refuses.</summary>
    private async Task<SubsidyAllowance?> LeaseAsync(string programId, Money wanted)
    {
        var id = "allowance-" + Guid.NewGuid().ToString("N");
        var period = QuotaPeriods.StartOf(QuotaPeriod.Monthly, timeProvider.GetUtcNow());
        var jobs = BlockJobs(programId, timeProvider.GetUtcNow());
        var desired = new Money(wanted.Micros > long.MaxValue / jobs ? long.MaxValue : wanted.Micros * jobs);
        var grant = await grains.GetGrain<ISubsidyProgramGrain>(programId).ReserveAsync(tenantId, id, desired, minimum: wanted);
        if (grant.Refused)
        {
            return null;
        }

        var block = new SubsidyAllowance { Id = id, ProgramId = programId, PeriodStart = period, Granted = grant.Granted };
        if (grant.Granted > Money.Zero)
        {
            await keep(block);
        }

        return block;
    }

    /// <summary>
    /// How many jobs' needs to ask for: <see cref="SubsidyAllowances.BlockJobs"/>, doubled for each block asked within
    /// <see cref="SubsidyAllowances.Linger"/> of the last (a busy tenant asks about once a second, however fast it
    /// admits) up to <see cref="SubsidyAllowances.MaxBlockJobs"/>, and as much as last time within
    /// <see cref="SizeMemory"/>; the program still grants at most an eighth of what it has left. A block is asked ahead,
    /// while a quarter of the current one is left.
    /// </summary>
    private int BlockJobs(string programId, DateTimeOffset now)
    {
        var since = _lastLease.TryGetValue(programId, out var last) ? now - last.At : TimeSpan.MaxValue;
        var jobs = since < SubsidyAllowances.Linger ? Math.Min(2 * last.Jobs, SubsidyAllowances.MaxBlockJobs)
            : since < SizeMemory ? last.Jobs
            : SubsidyAllowances.BlockJobs;
        _lastLease[programId] = (now, jobs);
        return jobs;
    }

    /// <summary>
    /// Gives back the subsidy held for jobs that were not admitted: to the allowance, or to the program for a job
    /// reserved there (best effort: leak repair covers a miss).
    /// </summary>
    public void Release(string jobId, JobPrice? price)
    {
        allowances.Release(jobId);
        if (price is { ProgramId: { } program, SubsidyGranted.Micros: > 0, AllowanceId: null })
        {
            grains.GetGrain<ISubsidyProgramGrain>(program).SettleAsync(tenantId, jobId, Money.Zero).ContinueWith(
                t => LogSubsidyNotSent(logger, t.Exception, tenantId, jobId, program),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>Tells each program what it paid for <paramref name="pending"/>; the job ids it could tell.</summary>
    public async Task<List<string>> SendAsync(IReadOnlyList<PendingSubsidy> pending)
    {
        // All at once: a program batches what arrives together into one save.
        var results = await Task.WhenAll(pending.Select(async subsidy =>
        {
            try
            {
                await grains.GetGrain<ISubsidyProgramGrain>(subsidy.ProgramId).SettleAsync(tenantId, subsidy.JobId, subsidy.Spent);
                return subsidy.JobId;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Kept in the state: sent again on the next settlement or recovery tick.
                LogSubsidyNotSent(logger, e, tenantId, subsidy.JobId, subsidy.ProgramId);
                return null;
            }
        }));
        return [.. results.OfType<string>()];
    }

    [LoggerMessage(EventId = 1113, Level = LogLevel.Warning, Message = "Tenant {TenantId} could not tell subsidy program {ProgramId} about job {JobId}; it tries again")]
    private static partial void LogSubsidyNotSent(ILogger logger, Exception? exception, string tenantId, string jobId, string programId);
}
