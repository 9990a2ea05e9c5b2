using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// What an admitted job is priced by, fixed at admission and carried by its reservation to settlement: the rate card's
/// quote for its model, the tenant's plan and home region, the subsidy program's share and the part of its budget
/// reserved for the job, and the most the job can cost the tenant (held against the spend cap). The subsidy is held on
/// the tenant's allowance <c>AllowanceId</c> from the program (null: reserved with the program under the job's id, as
/// jobs admitted before allowances were).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.JobPrice")]
public sealed record JobPrice(
    [property: Id(0)] PriceQuote Quote,
    [property: Id(1)] TenantPlan Plan,
    [property: Id(2)] string? ProgramId,
    [property: Id(3)] int ProgramShareBasisPoints,
    [property: Id(4)] Money SubsidyGranted,
    [property: Id(5)] Money MaxTenant,
    [property: Id(6)] string? HomeRegion,
    [property: Id(7)] string? AllowanceId = null);

/// <summary>
/// The money of one job, by the rule of <see cref="Pricing"/>: each direction's line is priced and split on its own
/// (<see cref="ChargeSplit"/>), and the subsidy is capped by what the program reserved for the job, the prompt's line
/// first. Every amount is monotone in tokens, so the most a job can cost is its cost at its reservation's tokens in the
/// dearest region; settlement never exceeds what admission held.
/// </summary>
public static class JobCost
{
    /// <summary>What admission must ask of a subsidy program for a job: the most its share can come to.</summary>
    public static Money MaxSubsidy(PriceQuote quote, TenantPlan plan, int shareBasisPoints, long promptTokens, long maxCompletionTokens)
    {
        if (shareBasisPoints == 0)
        {
            return Money.Zero;
        }

        var regions = Regions(quote, plan);
        var most = Split(quote, plan, shareBasisPoints, Unlimited, promptTokens, maxCompletionTokens, regions[0]).Subsidy;
        for (var i = 1; i < regions.Count; i++)
        {
            most = Money.Max(most, Split(quote, plan, shareBasisPoints, Unlimited, promptTokens, maxCompletionTokens, regions[i]).Subsidy);
        }

        return most;
    }

    /// <summary>
    /// The most a job can cost the tenant when the program reserved <paramref name="granted"/> for it: over every region
    /// the job may run in, its full lines less the subsidy they can get.
    /// </summary>
    public static Money MaxTenant(PriceQuote quote, TenantPlan plan, int shareBasisPoints, Money granted, long promptTokens, long maxCompletionTokens)
    {
        var regions = Regions(quote, plan);
        var most = Split(quote, plan, shareBasisPoints, granted, promptTokens, maxCompletionTokens, regions[0]).Tenant;
        for (var i = 1; i < regions.Count; i++)
        {
            most = Money.Max(most, Split(quote, plan, shareBasisPoints, granted, promptTokens, maxCompletionTokens, regions[i]).Tenant);
        }

        return most;
    }

    /// <summary>
    /// The most a job can cost the tenant per region the card or plan prices apart, and under <c>""</c> anywhere else:
    /// what cost-aware placement compares.
    /// </summary>
    public static IReadOnlyDictionary<string, long> RegionCosts(JobPrice price, long promptTokens, long maxCompletionTokens)
    {
        ArgumentNullException.ThrowIfNull(price);
        return Regions(price.Quote, price.Plan).ToDictionary(
            r => r ?? "",
            r => Split(price.Quote, price.Plan, price.ProgramShareBasisPoints, price.SubsidyGranted, promptTokens, maxCompletionTokens, r).Tenant.Micros,
            StringComparer.Ordinal);
    }

    /// <summary>The priced charge of a job that used <paramref name="promptTokens"/> and <paramref name="completionTokens"/>.</summary>
    public static PricedCharge Charge(JobPrice price, long promptTokens, long completionTokens, CreationPlace? place)
    {
        ArgumentNullException.ThrowIfNull(price);
        var region = place?.Region;
        var prompt = Line(price.Quote, price.Plan, price.ProgramShareBasisPoints, price.SubsidyGranted, promptTokens, TokenDirection.Prompt, region);
        var completion = Line(price.Quote, price.Plan, price.ProgramShareBasisPoints, price.SubsidyGranted - prompt.Subsidy, completionTokens, TokenDirection.Completion, region);
        return new PricedCharge(price.Quote.Version, price.Quote.Currency, price.ProgramId, place, price.HomeRegion, [prompt, completion]);
    }

    private static readonly Money Unlimited = new(long.MaxValue);

    /// <summary>The program's and the tenant's shares of a job's two lines in <paramref name="region"/> (as <see cref="Charge"/> splits them).</summary>
    private static (Money Subsidy, Money Tenant) Split(
        PriceQuote quote, TenantPlan plan, int shareBasisPoints, Money granted, long promptTokens, long completionTokens, string? region)
    {
        var prompt = ChargeSplit.Of(promptTokens, TokenDirection.Prompt, region, quote, plan, shareBasisPoints, granted);
        var completion = ChargeSplit.Of(completionTokens, TokenDirection.Completion, region, quote, plan, shareBasisPoints, granted - prompt.Subsidy);
        return (prompt.Subsidy + completion.Subsidy, prompt.Tenant + completion.Tenant);
    }

    private static PricedLine Line(
        PriceQuote quote, TenantPlan plan, int shareBasisPoints, Money left, long tokens, TokenDirection direction, string? region)
    {
        var split = ChargeSplit.Of(tokens, direction, region, quote, plan, shareBasisPoints, left);
        return new PricedLine(direction, tokens, quote.PerMillion(direction, region), split.List, split.Discount, split.Subsidy, split.Tenant);
    }

    /// <summary>The regions of each quote, for the plan they were last asked with (see <see cref="Regions"/>).</summary>
    private static readonly ConditionalWeakTable<PriceQuote, QuoteRegions> s_regions = new();

    /// <summary>
    /// Every region a price can depend on, and null for the rest ("any region"), in a fixed order (the quote's, the
    /// plan's, null last). Every admission asks three times for the same quote and plan, so the answer is kept with the
    /// quote (both are immutable, and a tenant's pricing hands out one quote per rate card version and model).
    /// </summary>
    internal static IReadOnlyList<string?> Regions(PriceQuote quote, TenantPlan plan)
    {
        if (s_regions.TryGetValue(quote, out var known) && ReferenceEquals(known.Plan, plan))
        {
            return known.Regions;
        }

        string?[] regions = [.. quote.Prices.Select(p => p.Region).Concat(plan.Negotiated.Select(p => p.Region)).Append(null).Distinct()];
        s_regions.AddOrUpdate(quote, new QuoteRegions(plan, regions));
        return regions;
    }

    private sealed record QuoteRegions(TenantPlan Plan, string?[] Regions);
}
