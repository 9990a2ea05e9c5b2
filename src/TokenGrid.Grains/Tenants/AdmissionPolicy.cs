using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Why a request is refused, with the message and wait the caller sees. A refusal by the spend cap carries the
/// request's most possible cost (<paramref name="Spend"/>) in <paramref name="Currency"/>, from which the tenant
/// decides whether the cap is reached (<see cref="TenantAccount.RefusedBySpendCap"/>).
/// </summary>
internal readonly record struct Refusal(AdmissionRejection Reason, string Message, TimeSpan? RetryAfter, Money? Spend = null, string? Currency = null);

/// <summary>
/// The admission checks, in their fixed order, against a tenant whose period is current and whose buckets are
/// refilled to <c>now</c>. Pure: it decides, the grain applies.
/// </summary>
internal static class AdmissionPolicy
{
    /// <summary>
    /// The first check the request fails, or null when it may be admitted. <paramref name="jobs"/> is how many jobs it
    /// opens: a group of choices (<c>n</c> &gt; 1) is checked as one request whose reservation is the group's.
    /// <paramref name="spend"/> is the most the request can cost the tenant in <paramref name="currency"/> (0: unpriced).
    /// <paramref name="durations"/>, the tenant's latest jobs, gives a concurrency refusal its wait (none: the unmeasured one).
    /// </summary>
    public static Refusal? Check(
        TenantState state, AdmissionRequest request, DateTimeOffset now, int jobs = 1, Money spend = default, string? currency = null,
        JobDurations? durations = null)
    {
        if (state.Info is not { } info)
        {
            return new(AdmissionRejection.TenantDisabled, "The tenant does not exist.", null);
        }

        if (!info.Enabled)
        {
            return new(AdmissionRejection.TenantDisabled, $"Tenant '{info.Id}' is disabled.", null);
        }

        var budget = info.Budget;
        if (jobs > budget.MaxConcurrentJobs)
        {
            return new(AdmissionRejection.RequestTooLarge,
                $"{jobs} choices run as {jobs} concurrent jobs and this tenant may run at most {budget.MaxConcurrentJobs}, so the request can never be admitted; lower n or send fewer prompts.",
                null);
        }

        var reservation = request.Reservation;
        if (reservation > budget.TokensPerMinute)
        {
            return new(AdmissionRejection.RequestTooLarge,
                $"The reservation of {reservation} tokens ({request.PromptTokens} prompt + {request.MaxCompletionTokens} max completion) " +
                $"exceeds the limit of {budget.TokensPerMinute} tokens per minute, so it can never be admitted; lower max tokens or shorten the prompt.",
                null);
        }

        var left = budget.PeriodQuota - state.Charged - state.Reserved;
        if (reservation > budget.PeriodQuota)
        {
            // Not even a fresh period could cover it, so there is no time to wait for.
            return new(AdmissionRejection.QuotaExhausted,
                $"The reservation of {reservation} tokens exceeds the whole {budget.Period.ToString().ToLowerInvariant()} quota of {budget.PeriodQuota}, so it can never be admitted.",
                null);
        }

        if (reservation > left)
        {
            var end = QuotaPeriods.EndOf(budget.Period, QuotaPeriods.StartOf(budget.Period, now));
            return new(AdmissionRejection.QuotaExhausted,
                $"The {budget.Period.ToString().ToLowerInvariant()} quota has {Math.Max(0, left)} of {budget.PeriodQuota} tokens left " +
                $"and the reservation needs {reservation}; the quota starts over at {end:u}.",
                end - now);
        }

        if (SpendCheck(state, budget, spend, currency, now) is { } overCap)
        {
            return overCap;
        }

        if (state.Open.Count + jobs > budget.MaxConcurrentJobs)
        {
            return new(AdmissionRejection.ConcurrencyLimited, jobs == 1
                ? $"{state.Open.Count} of at most {budget.MaxConcurrentJobs} concurrent jobs are running; retry when one ends."
                : $"{state.Open.Count} of at most {budget.MaxConcurrentJobs} concurrent jobs are running and the request needs {jobs} (one per choice); retry when enough end.",
                durations?.RetryAfter(state.Open.Values.Select(o => o.AdmittedAt), state.Open.Count + jobs - budget.MaxConcurrentJobs, now)
                    ?? JobDurations.Unmeasured);
        }

        if (state.Requests.AvailableAt(budget.RequestsPerMinute, now) < 1)
        {
            return new(AdmissionRejection.RequestRateLimited,
                $"The limit of {budget.RequestsPerMinute} requests per minute is reached.",
                state.Requests.TimeUntil(1, budget.RequestsPerMinute, now));
        }

        var tokens = state.Tokens.AvailableAt(budget.TokensPerMinute, now);
        if (tokens < reservation)
        {
            return new(AdmissionRejection.TokenRateLimited,
                $"{tokens} of {budget.TokensPerMinute} tokens per minute are available and the reservation needs {reservation}.",
                state.Tokens.TimeUntil(reservation, budget.TokensPerMinute, now));
        }

        return null;
    }

    /// <summary>The period as messages name it ("monthly"); built only for a refusal, never on the admitting path.</summary>
    private static string PeriodName(QuotaPeriod period) => period.ToString().ToLowerInvariant();

    /// <summary>The refusal when the spend cap cannot hold <paramref name="spend"/> more this period, else null.</summary>
    internal static Refusal? SpendCheck(TenantState state, TenantBudget budget, Money spend, string? currency, DateTimeOffset now)
    {
        if (budget.SpendCap is not { } cap || spend <= Money.Zero)
        {
            return null;
        }

        if (spend > cap)
        {
            var period = PeriodName(budget.Period);
            return new(AdmissionRejection.SpendCapReached,
                $"The request may cost up to {spend} {currency} and the whole {period} spend cap is {cap} {currency}, so it can never be admitted; lower max tokens or n.",
                null);
        }

        var left = cap.Micros - state.SpendCharged - state.SpendReserved;
        if (spend.Micros <= left)
        {
            return null;
        }

        var end = QuotaPeriods.EndOf(budget.Period, QuotaPeriods.StartOf(budget.Period, now));
        return new(AdmissionRejection.SpendCapReached,
            $"The {PeriodName(budget.Period)} spend cap of {cap} {currency} has {new Money(Math.Max(0, left))} {currency} left and the request may cost up to " +
            $"{spend} {currency}; the cap starts over at {end:u}.",
            end - now, spend, currency);
    }
}
