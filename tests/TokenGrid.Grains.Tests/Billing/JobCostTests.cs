using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class JobCostTests
{
    private static readonly string?[] s_regions = [null, "north", "south", "east"];

    [Fact]
    public void No_settlement_costs_the_tenant_or_the_program_more_than_admission_held()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 20_000; i++)
        {
            var quote = RandomQuote(random);
            var plan = RandomPlan(random);
            var share = random.Next(4) == 0 ? 0 : random.Next(0, 10_001);
            long prompt = random.Next(0, 5_000), maxCompletion = random.Next(0, 5_000);

            var wanted = JobCost.MaxSubsidy(quote, plan, share, prompt, maxCompletion);
            // The program may grant less than asked when its budget runs short.
            var granted = random.Next(3) == 0 ? new Money(random.NextInt64(0, wanted.Micros + 1)) : wanted;
            var most = JobCost.MaxTenant(quote, plan, share, granted, prompt, maxCompletion);
            var price = new JobPrice(quote, plan, share > 0 ? "p" : null, share, granted, most, null);

            var place = new CreationPlace("silo/cpu0", "silo", s_regions[random.Next(s_regions.Length)]);
            var charge = JobCost.Charge(price, random.NextInt64(0, prompt + 1), random.NextInt64(0, maxCompletion + 1), place);

            Assert.True(charge.Tenant <= most, $"case {i}: tenant {charge.Tenant} > held {most}");
            Assert.True(charge.Subsidy <= granted, $"case {i}: subsidy {charge.Subsidy} > granted {granted}");
            Assert.All(charge.Lines, l => Assert.Equal(l.List, l.Discount + l.Subsidy + l.Tenant));
            Assert.All(charge.Lines, l => Assert.True(l.Tenant >= Money.Zero && l.Subsidy >= Money.Zero));
        }
    }

    [Fact]
    public void At_its_most_a_job_costs_what_admission_held_in_the_dearest_region()
    {
        var quote = new PriceQuote(1, "USD", "demo", [
            new("demo", TokenDirection.Prompt, null, Units(1)),
            new("demo", TokenDirection.Completion, null, Units(3)),
            new("demo", TokenDirection.Completion, "north", Units(2))]);
        var most = JobCost.MaxTenant(quote, TenantPlan.List, 0, default, 1_000_000, 1_000_000);
        var price = new JobPrice(quote, TenantPlan.List, null, 0, default, most, "west");

        var south = JobCost.Charge(price, 1_000_000, 1_000_000, new CreationPlace("a/cpu0", "a", "south"));
        var north = JobCost.Charge(price, 1_000_000, 1_000_000, new CreationPlace("b/cpu0", "b", "north"));

        Assert.Equal(Units(4), most);
        Assert.Equal(Units(4), south.Tenant);
        Assert.Equal(Units(3), north.Tenant);
        Assert.Equal([Units(1), Units(2)], north.Lines.Select(l => l.UnitPrice));
        Assert.Equal(("north", "west", 1), (north.Place!.Region, north.HomeRegion, north.PriceVersion));
    }

    [Fact]
    public void The_subsidy_covers_the_prompt_line_first_and_stops_at_what_was_granted()
    {
        var quote = new PriceQuote(1, "USD", "demo", [new("demo", TokenDirection.Prompt, null, Units(1)), new("demo", TokenDirection.Completion, null, Units(1))]);
        var price = new JobPrice(quote, TenantPlan.List, "p", 10_000, Units(1) + new Money(500_000), Units(1) - new Money(500_000) + Units(1), null);

        var charge = JobCost.Charge(price, 1_000_000, 1_000_000, null);

        Assert.Equal([Units(1), new Money(500_000)], charge.Lines.Select(l => l.Subsidy));
        Assert.Equal([Money.Zero, new Money(500_000)], charge.Lines.Select(l => l.Tenant));
    }

    private static Money Units(long units) => new(units * 1_000_000);

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

        return new PriceQuote(1, "USD", "demo", prices);
    }

    private static TenantPlan RandomPlan(Random random) => random.Next(3) switch
    {
        0 => TenantPlan.List,
        1 => new TenantPlan("discount", random.Next(0, 10_001), []),
        _ => new TenantPlan("negotiated", random.Next(0, 10_001),
            [new("demo", random.Next(2) == 0 ? TokenDirection.Prompt : TokenDirection.Completion, s_regions[random.Next(s_regions.Length)], new Money(random.NextInt64(0, 60_000_000)))]),
    };
}
