using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

/// <summary>
/// <see cref="JobCost"/> keeps each quote's rates for the plan last asked with (admission's bounds come from one pass
/// over them), and <see cref="ChargeSplit"/> finds a negotiated price without a query: both against the plain formula
/// (every region, every line priced afresh), with quotes and plans reused in turn so the kept rates are hit, and
/// replaced, all the time.
/// </summary>
public sealed class JobCostCacheTests
{
    private static readonly string?[] s_regions = [null, "north", "south", "east"];

    [Fact]
    public void Kept_regions_give_what_the_plain_formula_gives_whichever_quote_and_plan_come_next()
    {
        var random = new Random(20261203);
        var quotes = Enumerable.Range(0, 3).Select(_ => RandomQuote(random)).ToArray();
        var plans = Enumerable.Range(0, 4).Select(_ => RandomPlan(random)).ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            if (random.Next(50) == 0)
            {
                // Now and then a new quote or plan takes an old one's place, as a new version or a plan change would.
                quotes[random.Next(quotes.Length)] = RandomQuote(random);
                plans[random.Next(plans.Length)] = RandomPlan(random);
            }

            var quote = quotes[random.Next(quotes.Length)];
            var plan = plans[random.Next(plans.Length)];
            var share = random.Next(4) == 0 ? 0 : random.Next(0, 10_001);
            long prompt = random.Next(0, 5_000), maxCompletion = random.Next(0, 5_000);
            var granted = new Money(random.NextInt64(0, 1_000_000));

            var wanted = share == 0 ? Money.Zero : PlainMax(quote, plan, share, Unlimited, prompt, maxCompletion).Subsidy;
            Assert.Equal(wanted, JobCost.MaxSubsidy(quote, plan, share, prompt, maxCompletion));
            Assert.Equal((wanted, PlainMax(quote, plan, share, wanted, prompt, maxCompletion).Tenant), JobCost.Bounds(quote, plan, share, prompt, maxCompletion));
            Assert.Equal(PlainMax(quote, plan, share, granted, prompt, maxCompletion).Tenant, JobCost.MaxTenant(quote, plan, share, granted, prompt, maxCompletion));

            var price = new JobPrice(quote, plan, "p", share, granted, Money.Zero, null);
            var expected = PlainRegions(quote, plan).ToDictionary(r => r ?? "", r => PlainSplit(quote, plan, share, granted, prompt, maxCompletion, r).Tenant.Micros);
            Assert.Equal(expected.OrderBy(e => e.Key), JobCost.RegionCosts(price, prompt, maxCompletion).OrderBy(e => e.Key));

            var region = s_regions[random.Next(s_regions.Length)];
            var direction = (TokenDirection)random.Next(2);
            Assert.Equal(PlainLine(quote, plan, share, granted, prompt, direction, region), ChargeSplit.Of(prompt, direction, region, quote, plan, share, granted));
        }
    }

    [Fact]
    public void A_plan_given_with_a_known_quote_is_priced_by_its_own_negotiated_regions()
    {
        var quote = new PriceQuote(1, "USD", "demo", [
            new("demo", TokenDirection.Prompt, null, Units(1)),
            new("demo", TokenDirection.Completion, null, Units(2))]);
        Assert.Equal(Units(3), JobCost.MaxTenant(quote, TenantPlan.List, 0, default, 1_000_000, 1_000_000));

        // Dearer in a region only the plan names: the same quote's most cost must now count that region.
        var surcharge = new TenantPlan("surcharge", 0, [new("demo", TokenDirection.Completion, "east", Units(7))]);
        Assert.Equal(Units(8), JobCost.MaxTenant(quote, surcharge, 0, default, 1_000_000, 1_000_000));
        Assert.Equal(Units(3), JobCost.MaxTenant(quote, TenantPlan.List, 0, default, 1_000_000, 1_000_000));
    }

    private static readonly Money Unlimited = new(long.MaxValue);

    private static Money Units(long units) => new(units * 1_000_000);

    private static IEnumerable<string?> PlainRegions(PriceQuote quote, TenantPlan plan) =>
        quote.Prices.Select(p => p.Region).Concat(plan.Negotiated.Select(p => p.Region)).Append(null).Distinct();

    private static (Money Subsidy, Money Tenant) PlainMax(PriceQuote quote, TenantPlan plan, int share, Money granted, long prompt, long completion) =>
        (PlainRegions(quote, plan).Max(r => PlainSplit(quote, plan, share, granted, prompt, completion, r).Subsidy),
         PlainRegions(quote, plan).Max(r => PlainSplit(quote, plan, share, granted, prompt, completion, r).Tenant));

    private static (Money Subsidy, Money Tenant) PlainSplit(PriceQuote quote, TenantPlan plan, int share, Money granted, long prompt, long completion, string? region)
    {
        var first = PlainLine(quote, plan, share, granted, prompt, TokenDirection.Prompt, region);
        var second = PlainLine(quote, plan, share, granted - first.Subsidy, completion, TokenDirection.Completion, region);
        return (first.Subsidy + second.Subsidy, first.Tenant + second.Tenant);
    }

    /// <summary>The rule as docs/billing.md states it: the region's own negotiated price, else the one for any region.</summary>
    private static ChargeSplit PlainLine(PriceQuote quote, TenantPlan plan, int share, Money left, long tokens, TokenDirection direction, string? region)
    {
        var list = Pricing.Amount(tokens, quote.PerMillion(direction, region));
        var negotiated = plan.Negotiated
            .Where(p => p.Direction == direction && p.Model == quote.Model && (p.Region is null || p.Region == region))
            .OrderBy(p => p.Region is null)
            .FirstOrDefault();
        var afterPlan = negotiated is not null ? Pricing.Amount(tokens, negotiated.PerMillion) : list - Pricing.Share(list, plan.DiscountBasisPoints);
        var subsidy = share == 0 || left <= Money.Zero ? Money.Zero : Money.Min(Pricing.Share(afterPlan, share), left);
        return new ChargeSplit(list, list - afterPlan, subsidy, afterPlan - subsidy);
    }

    private static PriceQuote RandomQuote(Random random)
    {
        var prices = new List<PriceEntry>();
        foreach (var direction in new[] { TokenDirection.Prompt, TokenDirection.Completion })
        {
            foreach (var region in s_regions.Where(_ => random.Next(2) == 0))
            {
                prices.Add(new("demo", direction, region, new Money(random.NextInt64(0, 50_000_000))));
            }
        }

        return new PriceQuote(random.Next(1, 100), "USD", "demo", prices);
    }

    /// <summary>Up to four negotiated prices, for any region or one, of this model or another, in any order.</summary>
    private static TenantPlan RandomPlan(Random random) => new(
        "plan", random.Next(0, 10_001),
        [.. Enumerable.Range(0, random.Next(0, 5)).Select(_ => new PriceEntry(
            random.Next(5) == 0 ? "other" : "demo", (TokenDirection)random.Next(2), s_regions[random.Next(s_regions.Length)], new Money(random.NextInt64(0, 60_000_000))))]);
}
