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

        var rates = RatesOf(quote, plan);
        var most = rates.Split(0, shareBasisPoints, Unlimited, promptTokens, maxCompletionTokens).Subsidy;
        for (var i = 1; i < rates.Regions.Length; i++)
        {
            most = Money.Max(most, rates.Split(i, shareBasisPoints, Unlimited, promptTokens, maxCompletionTokens).Subsidy);
        }

        return most;
    }

    /// <summary>
    /// What admission computes first, in one pass over the regions: the most the program's share can come to
    /// (<see cref="MaxSubsidy"/>), and the most the job can cost the tenant if the program grants all of that
    /// (<see cref="MaxTenant"/> with it), which is also the job's cost limit whenever the program does.
    /// </summary>
    public static (Money MaxSubsidy, Money MaxTenant) Bounds(PriceQuote quote, TenantPlan plan, int shareBasisPoints, long promptTokens, long maxCompletionTokens)
    {
        var rates = RatesOf(quote, plan);
        var regions = rates.Regions.Length;
        Span<long> lines = regions <= 16 ? stackalloc long[4 * regions] : new long[4 * regions];
        var wanted = Money.Zero;
        for (var i = 0; i < regions; i++)
        {
            // Each direction's amount after the plan, and the program's full share of it (nothing held back yet).
            var (prompt, promptShare) = rates.AfterPlan(i, TokenDirection.Prompt, promptTokens, shareBasisPoints);
            var (completion, completionShare) = rates.AfterPlan(i, TokenDirection.Completion, maxCompletionTokens, shareBasisPoints);
            (lines[4 * i], lines[4 * i + 1], lines[4 * i + 2], lines[4 * i + 3]) = (prompt.Micros, promptShare.Micros, completion.Micros, completionShare.Micros);
            wanted = i == 0 ? promptShare + completionShare : Money.Max(wanted, promptShare + completionShare);
        }

        var most = Money.Zero;
        for (var i = 0; i < regions; i++)
        {
            // The split rule of ChargeSplit: the prompt's line draws on the grant first, the completion's on what is left.
            var promptSubsidy = wanted <= Money.Zero ? Money.Zero : Money.Min(new Money(lines[4 * i + 1]), wanted);
            var left = wanted - promptSubsidy;
            var completionSubsidy = left <= Money.Zero ? Money.Zero : Money.Min(new Money(lines[4 * i + 3]), left);
            var tenant = new Money(lines[4 * i]) - promptSubsidy + (new Money(lines[4 * i + 2]) - completionSubsidy);
            most = i == 0 ? tenant : Money.Max(most, tenant);
        }

        return (wanted, most);
    }

    /// <summary>
    /// The most a job can cost the tenant when the program reserved <paramref name="granted"/> for it: over every region
    /// the job may run in, its full lines less the subsidy they can get.
    /// </summary>
    public static Money MaxTenant(PriceQuote quote, TenantPlan plan, int shareBasisPoints, Money granted, long promptTokens, long maxCompletionTokens)
    {
        var rates = RatesOf(quote, plan);
        var most = rates.Split(0, shareBasisPoints, granted, promptTokens, maxCompletionTokens).Tenant;
        for (var i = 1; i < rates.Regions.Length; i++)
        {
            most = Money.Max(most, rates.Split(i, shareBasisPoints, granted, promptTokens, maxCompletionTokens).Tenant);
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
        var rates = RatesOf(price.Quote, price.Plan);
        var costs = new Dictionary<string, long>(rates.Regions.Length, StringComparer.Ordinal);
        for (var i = 0; i < rates.Regions.Length; i++)
        {
            costs.Add(rates.Regions[i] ?? "", rates.Split(i, price.ProgramShareBasisPoints, price.SubsidyGranted, promptTokens, maxCompletionTokens).Tenant.Micros);
        }

        return costs;
    }

    /// <summary>The priced charge of a job that used <paramref name="promptTokens"/> and <paramref name="completionTokens"/>.</summary>
    public static PricedCharge Charge(JobPrice price, long promptTokens, long completionTokens, CreationPlace? place)
    {
        ArgumentNullException.ThrowIfNull(price);
        var rates = RatesOf(price.Quote, price.Plan);
        var region = rates.IndexOf(place?.Region);
        var prompt = rates.Line(region, TokenDirection.Prompt, promptTokens, price.ProgramShareBasisPoints, price.SubsidyGranted);
        var completion = rates.Line(region, TokenDirection.Completion, completionTokens, price.ProgramShareBasisPoints, price.SubsidyGranted - prompt.Subsidy);
        return new PricedCharge(price.Quote.Version, price.Quote.Currency, price.ProgramId, place, price.HomeRegion, new[] { prompt, completion });
    }

    private static readonly Money Unlimited = new(long.MaxValue);

    /// <summary>The rates of each quote, for the plan they were last asked with (see <see cref="RatesOf"/>).</summary>
    private static readonly ConditionalWeakTable<PriceQuote, QuoteRates> s_rates = new();

    /// <summary>The rates this thread asked for last: an admission asks three times in a row for the same ones.</summary>
    [ThreadStatic] private static QuoteRates? t_last;

    /// <summary>
    /// The quote's prices under the plan, per region a price can depend on: found once per quote and plan and kept with
    /// the quote (both are immutable, and a tenant's pricing hands out one quote per rate card version and model), so
    /// pricing a job neither searches the card and the plan nor looks up a region by name.
    /// </summary>
    private static QuoteRates RatesOf(PriceQuote quote, TenantPlan plan)
    {
        if (t_last is { } last && ReferenceEquals(last.Quote, quote) && ReferenceEquals(last.Plan, plan))
        {
            return last;
        }

        if (!s_rates.TryGetValue(quote, out var known) || !ReferenceEquals(known.Plan, plan))
        {
            known = new QuoteRates(quote, plan);
            s_rates.AddOrUpdate(quote, known);
        }

        t_last = known;
        return known;
    }

    /// <summary>One direction's price in one region: the card's, and the plan's negotiated one if it has one.</summary>
    private readonly record struct Rate(Money List, Money? Negotiated);

    /// <summary>
    /// A quote's rates under a plan. <see cref="Regions"/> holds every region a price can depend on and null for the rest
    /// ("any region"), in a fixed order (the quote's, the plan's, then null); each region's rates are what
    /// <see cref="PriceQuote.PerMillion"/> and the plan's negotiated prices give for it, so a split here is the one
    /// <see cref="ChargeSplit.Of(long, TokenDirection, string?, PriceQuote, TenantPlan, int, Money)"/> computes.
    /// </summary>
    private sealed class QuoteRates
    {
        private readonly Rate[] _prompt;
        private readonly Rate[] _completion;
        private readonly int _discount;
        private readonly int _anywhere;

        public QuoteRates(PriceQuote quote, TenantPlan plan)
        {
            (Quote, Plan) = (quote, plan);
            Regions = [.. quote.Prices.Select(p => p.Region).Concat(plan.Negotiated.Select(p => p.Region)).Append(null).Distinct()];
            _prompt = [.. Regions.Select(r => RateOf(quote, plan, TokenDirection.Prompt, r))];
            _completion = [.. Regions.Select(r => RateOf(quote, plan, TokenDirection.Completion, r))];
            _discount = plan.DiscountBasisPoints;
            _anywhere = Array.IndexOf(Regions, null);
        }

        public PriceQuote Quote { get; }

        public TenantPlan Plan { get; }

        public string?[] Regions { get; }

        /// <summary>The index of <paramref name="region"/>'s rates: its own, or those for any region.</summary>
        public int IndexOf(string? region)
        {
            for (var i = 0; region is not null && i < Regions.Length; i++)
            {
                if (string.Equals(Regions[i], region, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return _anywhere;
        }

        /// <summary>The program's and the tenant's shares of a job's two lines in region <paramref name="region"/> (as <see cref="Charge"/> splits them).</summary>
        public (Money Subsidy, Money Tenant) Split(int region, int shareBasisPoints, Money granted, long promptTokens, long completionTokens)
        {
            var prompt = SplitOf(_prompt[region], promptTokens, shareBasisPoints, granted);
            var completion = SplitOf(_completion[region], completionTokens, shareBasisPoints, granted - prompt.Subsidy);
            return (prompt.Subsidy + completion.Subsidy, prompt.Tenant + completion.Tenant);
        }

        /// <summary>One direction's priced line in region <paramref name="region"/>, the program paying at most <paramref name="left"/>.</summary>
        public PricedLine Line(int region, TokenDirection direction, long tokens, int shareBasisPoints, Money left)
        {
            var rate = direction == TokenDirection.Prompt ? _prompt[region] : _completion[region];
            var split = SplitOf(rate, tokens, shareBasisPoints, left);
            return new PricedLine(direction, tokens, rate.List, split.List, split.Discount, split.Subsidy, split.Tenant);
        }

        /// <summary>
        /// A direction's amount in region <paramref name="region"/> after the plan, and the program's full share of it
        /// (zero without a share): the parts of <see cref="SplitOf"/> that do not depend on what the program has left.
        /// </summary>
        public (Money AfterPlan, Money Share) AfterPlan(int region, TokenDirection direction, long tokens, int shareBasisPoints)
        {
            var (_, afterPlan) = Amounts(direction == TokenDirection.Prompt ? _prompt[region] : _completion[region], tokens);
            return (afterPlan, shareBasisPoints == 0 ? Money.Zero : Pricing.Share(afterPlan, shareBasisPoints));
        }

        private ChargeSplit SplitOf(Rate rate, long tokens, int shareBasisPoints, Money left)
        {
            var (list, afterPlan) = Amounts(rate, tokens);
            var subsidy = shareBasisPoints == 0 || left <= Money.Zero ? Money.Zero : Money.Min(Pricing.Share(afterPlan, shareBasisPoints), left);
            return new ChargeSplit(list, list - afterPlan, subsidy, afterPlan - subsidy);
        }

        /// <summary>A direction's list amount for <paramref name="tokens"/>, and the amount after the plan (negotiated or discounted).</summary>
        private (Money List, Money AfterPlan) Amounts(Rate rate, long tokens)
        {
            var list = Pricing.Amount(tokens, rate.List);
            return (list, rate.Negotiated is { } negotiated ? Pricing.Amount(tokens, negotiated) : list - Pricing.Share(list, _discount));
        }

        private static Rate RateOf(PriceQuote quote, TenantPlan plan, TokenDirection direction, string? region) =>
            new(quote.PerMillion(direction, region), ChargeSplit.Negotiated(plan, quote.Model, direction, region)?.PerMillion);
    }
}
