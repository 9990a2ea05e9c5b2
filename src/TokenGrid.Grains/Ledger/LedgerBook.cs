using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Ledger;

/// <summary>
/// The only code that moves charged and reserved tokens. Each move writes its ledger line from the state right after
/// it, so <c>BalanceAfter = Quota − ChargedAfter − ReservedAfter</c> holds for every line by construction.
/// Lines go to <see cref="TenantState.UnsavedLines"/> and are saved with the state (<see cref="ITenantStore"/>).
/// </summary>
internal static class LedgerBook
{
    /// <summary>Holds a reservation's tokens.</summary>
    public static void Reserve(TenantState state, string tenantId, OpenReservation reservation)
    {
        var spend = reservation.Price?.MaxTenant.Micros ?? 0;
        state.Open[reservation.JobId] = reservation;
        state.Reserved += reservation.Tokens;
        state.SpendReserved += spend;
        Append(state, tenantId, reservation.AdmittedAt, reservation.JobId, reservation.Model, LedgerEntryKind.Reserve, reservation.Tokens, spend: spend);
    }

    /// <summary>
    /// Charges what a job used (at most its reservation) and refunds the rest. The charge line splits its tokens into
    /// the prompt's and the completion's; when the reservation caps the charge, the prompt's tokens are counted first.
    /// A priced job's charge is priced where its tokens were created (<paramref name="place"/>): the tenant's share
    /// moves from reserved to charged spend and the rest of the most it could have cost is refunded. The charge line also
    /// records how many of its prompt tokens came from a node's prefix cache (<paramref name="cachedPromptTokens"/>, at
    /// most the prompt tokens charged); they are priced as any prompt token.
    /// </summary>
    public static (long Charged, long Refunded, long ChargedPrompt, PricedCharge? Priced) Settle(
        TenantState state, string tenantId, DateTimeOffset at, OpenReservation reservation, long promptTokens, long completionTokens,
        CreationPlace? place = null, long cachedPromptTokens = 0)
    {
        var charged = Math.Clamp(promptTokens + completionTokens, 0, reservation.Tokens);
        var chargedPrompt = Math.Clamp(promptTokens, 0, charged);
        var cached = Math.Clamp(cachedPromptTokens, 0, chargedPrompt);
        var refunded = reservation.Tokens - charged;
        state.Open.Remove(reservation.JobId);

        var priced = reservation.Price is { } price ? JobCost.Charge(price, chargedPrompt, charged - chargedPrompt, place) : null;
        var heldSpend = reservation.Price?.MaxTenant.Micros ?? 0;
        var spent = priced?.Tenant.Micros ?? 0;
        if (spent > heldSpend)
        {
            // JobCost's amounts are monotone in tokens and the hold is taken at the reservation's tokens in the dearest
            // region, so this cannot happen; if it did, the ledger would show more spend than was held.
            throw new InvalidOperationException($"Job '{reservation.JobId}' costs {spent} micros, more than the {heldSpend} its admission held.");
        }

        state.Reserved -= charged;
        state.Charged += charged;
        state.SpendReserved -= spent;
        state.SpendCharged += spent;
        Append(state, tenantId, at, reservation.JobId, reservation.Model, LedgerEntryKind.Charge, charged, chargedPrompt, charged - chargedPrompt, spent, priced, cached);
        if (refunded > 0 || heldSpend > spent)
        {
            state.Reserved -= refunded;
            state.SpendReserved -= heldSpend - spent;
            Append(state, tenantId, at, reservation.JobId, reservation.Model, LedgerEntryKind.Refund, refunded, spend: heldSpend - spent);
        }

        return (charged, refunded, chargedPrompt, priced);
    }

    /// <summary>
    /// Starts a new period when <paramref name="now"/> lies past the current one: charged tokens and per-model counters
    /// start over, open reservations carry over. Returns whether it did.
    /// </summary>
    /// <remarks>
    /// Only a later period start resets. After a switch from daily to monthly the month's start lies before the
    /// day's, so the day's charges carry on into the month instead of being wiped.
    /// </remarks>
    public static bool RollPeriod(TenantState state, string tenantId, DateTimeOffset now)
    {
        var start = QuotaPeriods.StartOf(state.Info!.Budget.Period, now);
        if (start <= state.PeriodStart)
        {
            return false;
        }

        var cleared = state.Charged;
        var clearedSpend = state.SpendCharged;
        state.PeriodStart = start;
        state.Charged = 0;
        state.SpendCharged = 0;
        state.SpendPercentRaised = 0;
        state.SpendCapReached = false;
        state.Models.Clear();
        Append(state, tenantId, now, jobId: "", model: "", LedgerEntryKind.PeriodReset, cleared, spend: clearedSpend);
        return true;
    }

    /// <summary>A settlement rebuilt from a job's ledger lines (reserve, charge, refund), or null when it has no charge.</summary>
    public static Settlement? SettlementOf(string jobId, IReadOnlyList<LedgerEntry> lines)
    {
        var charge = lines.FirstOrDefault(e => e.Kind == LedgerEntryKind.Charge);
        if (charge is null)
        {
            return null;
        }

        var reserved = lines.Where(e => e.Kind == LedgerEntryKind.Reserve).Sum(e => e.Tokens);
        var refunded = lines.Where(e => e.Kind == LedgerEntryKind.Refund).Sum(e => e.Tokens);
        return new Settlement(jobId, reserved, charge.Tokens, refunded, AlreadySettled: true);
    }

    private static void Append(
        TenantState state, string tenantId, DateTimeOffset at, string jobId, string model, LedgerEntryKind kind, long tokens,
        long promptTokens = 0, long completionTokens = 0, long spend = 0, PricedCharge? priced = null, long cachedPromptTokens = 0)
    {
        var quota = state.Info!.Budget.PeriodQuota;
        state.UnsavedLines.Add(new LedgerEntry(
            ++state.LastSequence, at, tenantId, jobId, model, kind, tokens,
            quota, state.Charged, state.Reserved, quota - state.Charged - state.Reserved, promptTokens, completionTokens,
            spend, state.SpendCharged, state.SpendReserved, priced, cachedPromptTokens));
    }
}
