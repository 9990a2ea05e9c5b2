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
/// <param name="timeProvider">The clock.</param>
/// <param name="logger">The tenant grain's logger.</param>
internal sealed partial class TenantPricing(string tenantId, IGrainFactory grains, TimeProvider timeProvider, ILogger logger)
{
    private readonly PriceBook _book = new(grains, timeProvider);

    /// <summary>
    /// The price of <paramref name="request"/> (null: the card does not price its model, or the tenant cannot be
    /// admitted anyway), or the refusal of a subsidy program out of budget.
    /// </summary>
    /// <remarks>
    /// <paramref name="capPrecheck"/> is asked, before the program is, whether the spend cap refuses the request even at
    /// the least it can cost (the program paying all it is asked for): such a request is refused without holding any of
    /// the program's budget, which a burst of them would otherwise keep from the requests that are admitted.
    /// </remarks>
    public async Task<(JobPrice? Price, Refusal? Refusal)> PriceAsync(
        TenantInfo? tenant, AdmissionRequest request, Func<Money, string, Refusal?>? capPrecheck = null)
    {
        if (tenant is not { Enabled: true, Budget: var budget } || await _book.QuoteAsync(request.Model) is not { } quote)
        {
            return (null, null);
        }

        var program = budget.SubsidyProgram is { } id ? await _book.ProgramAsync(id) : null;
        var share = program?.ShareBasisPoints ?? 0;
        var granted = Money.Zero;
        var wanted = JobCost.MaxSubsidy(quote, budget.Plan, share, request.PromptTokens, request.MaxCompletionTokens);
        if (wanted > Money.Zero)
        {
            var least = JobCost.MaxTenant(quote, budget.Plan, share, wanted, request.PromptTokens, request.MaxCompletionTokens);
            if (capPrecheck?.Invoke(least, quote.Currency) is { } overCap)
            {
                return (null, overCap);
            }

            var grant = await grains.GetGrain<ISubsidyProgramGrain>(program!.Id).ReserveAsync(tenantId, request.JobId, wanted);
            if (grant.Refused)
            {
                var now = timeProvider.GetUtcNow();
                var next = QuotaPeriods.EndOf(QuotaPeriod.Monthly, QuotaPeriods.StartOf(QuotaPeriod.Monthly, now));
                return (null, new Refusal(AdmissionRejection.SubsidyExhausted,
                    $"Subsidy program '{program.Id}' has spent its budget for the month and refuses its tenants until it starts over at {next:u}.",
                    next - now));
            }

            granted = grant.Granted;
        }

        var most = JobCost.MaxTenant(quote, budget.Plan, share, granted, request.PromptTokens, request.MaxCompletionTokens);
        return (new JobPrice(quote, budget.Plan, program?.Id, share, granted, most, budget.HomeRegion), null);
    }

    /// <summary>Gives back what programs reserved for jobs that were not admitted (best effort: leak repair covers a miss).</summary>
    public void Release(string jobId, JobPrice? price)
    {
        if (price is { ProgramId: { } program, SubsidyGranted.Micros: > 0 })
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
