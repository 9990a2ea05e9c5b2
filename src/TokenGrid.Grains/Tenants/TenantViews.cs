using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>Read-only figures of a tenant at a moment, computed without changing its state.</summary>
internal static class TenantViews
{
    /// <summary>Figures for a tenant that does not exist.</summary>
    public static readonly RateLimitSnapshot NoLimits = new(0, 0, TimeSpan.Zero, 0, 0, TimeSpan.Zero);

    /// <summary>The rate-limit figures at <paramref name="now"/>: remaining is the whole tokens, reset the time until full.</summary>
    public static RateLimitSnapshot Limits(TenantState state, DateTimeOffset now)
    {
        if (state.Info is not { Budget: var budget })
        {
            return NoLimits;
        }

        long rpm = budget.RequestsPerMinute, tpm = budget.TokensPerMinute;
        return new RateLimitSnapshot(
            rpm, state.Requests.AvailableAt(rpm, now), state.Requests.TimeUntil(rpm, rpm, now),
            tpm, state.Tokens.AvailableAt(tpm, now), state.Tokens.TimeUntil(tpm, tpm, now));
    }

    /// <summary>The usage of the period containing <paramref name="now"/>; a period not yet rolled over reads as empty.</summary>
    public static TenantUsage Usage(TenantState state, DateTimeOffset now)
    {
        var info = state.Info!;
        var budget = info.Budget;
        var start = QuotaPeriods.StartOf(budget.Period, now);
        var stale = start > state.PeriodStart;
        var charged = stale ? 0 : state.Charged;

        var reservedByModel = state.Open.Values
            .GroupBy(r => r.Model, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(r => r.Tokens), StringComparer.Ordinal);
        IReadOnlyDictionary<string, ModelTally> tallies = stale ? new Dictionary<string, ModelTally>() : state.Models;
        var models = tallies.Keys.Union(reservedByModel.Keys, StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(model =>
            {
                var tally = tallies.GetValueOrDefault(model) ?? new ModelTally();
                return new ModelUsage(model, tally.Requests, tally.PromptTokens, tally.CompletionTokens, reservedByModel.GetValueOrDefault(model));
            })
            .ToList();

        return new TenantUsage(
            info.Id, start, QuotaPeriods.EndOf(budget.Period, start), budget.PeriodQuota,
            charged, state.Reserved, budget.PeriodQuota - charged - state.Reserved, state.Open.Count, models)
        {
            SpendCharged = stale ? 0 : state.SpendCharged,
            SpendReserved = state.SpendReserved,
            SpendCap = budget.SpendCap,
        };
    }
}
