using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// Who pays what for one charge line: <see cref="List"/> at the rate card, less <see cref="Discount"/> (the plan),
/// split into <see cref="Subsidy"/> (the program) and <see cref="Tenant"/>. The parts always add up:
/// <c>List = Discount + Subsidy + Tenant</c>, exactly.
/// </summary>
public readonly record struct ChargeSplit(Money List, Money Discount, Money Subsidy, Money Tenant)
{
    /// <summary>What the line costs after the plan: the subsidy's and the tenant's shares together.</summary>
    public Money Due => Subsidy + Tenant;

    /// <summary>
    /// Splits <paramref name="tokens"/> of <paramref name="direction"/> at <paramref name="quote"/>'s price for
    /// <paramref name="region"/> under <paramref name="plan"/>, with <paramref name="program"/> paying its share as far
    /// as <paramref name="programLeft"/> of its budget goes. Each amount is rounded once (see <see cref="Pricing"/>); the
    /// tenant's share is what is left.
    /// </summary>
    public static ChargeSplit Of(
        long tokens, TokenDirection direction, string? region, PriceQuote quote, TenantPlan plan, SubsidyProgram? program, Money programLeft) =>
        Of(tokens, direction, region, quote, plan, program?.ShareBasisPoints ?? 0, programLeft);

    /// <summary>
    /// The same split with the program given by its share alone: <paramref name="shareBasisPoints"/> of the price after
    /// the plan, as far as <paramref name="programLeft"/> goes (0: no program).
    /// </summary>
    public static ChargeSplit Of(
        long tokens, TokenDirection direction, string? region, PriceQuote quote, TenantPlan plan, int shareBasisPoints, Money programLeft)
    {
        ArgumentNullException.ThrowIfNull(quote);
        ArgumentNullException.ThrowIfNull(plan);
        var list = Pricing.Amount(tokens, quote.PerMillion(direction, region));
        var negotiated = Negotiated(plan, quote.Model, direction, region);
        var afterPlan = negotiated is not null ? Pricing.Amount(tokens, negotiated.PerMillion) : list - Pricing.Share(list, plan.DiscountBasisPoints);

        // A negotiated price above list is a surcharge, not a negative discount: the tenant owes it all the same.
        var discount = list - afterPlan;
        var subsidy = shareBasisPoints == 0 || programLeft <= Money.Zero
            ? Money.Zero
            : Money.Min(Pricing.Share(afterPlan, shareBasisPoints), programLeft);
        return new ChargeSplit(list, discount, subsidy, afterPlan - subsidy);
    }

    /// <summary>
    /// The plan's negotiated price for <paramref name="region"/> itself, else the one for any region, else null
    /// (the first of each in the plan's order). A loop rather than a query: every admission prices several lines.
    /// </summary>
    internal static PriceEntry? Negotiated(TenantPlan plan, string model, TokenDirection direction, string? region)
    {
        PriceEntry? any = null;
        var prices = plan.Negotiated;
        for (var i = 0; i < prices.Count; i++)
        {
            var price = prices[i];
            if (price.Direction != direction || !string.Equals(price.Model, model, StringComparison.Ordinal))
            {
                continue;
            }

            if (price.Region is null)
            {
                any ??= price;
            }
            else if (string.Equals(price.Region, region, StringComparison.Ordinal))
            {
                return price;
            }
        }

        return any;
    }
}
