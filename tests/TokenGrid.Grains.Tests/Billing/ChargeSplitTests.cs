using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class ChargeSplitTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Money M(string text) => Money.TryParse(text, out var money) ? money : throw new ArgumentException(text);

    private static PriceQuote Quote()
    {
        var card = new RateCard();
        card.TryAdd("USD", [new("demo", TokenDirection.Prompt, null, M("1")), new("demo", TokenDirection.Completion, null, M("3"))], s_now, null, out var version);
        return version!.QuoteFor("demo")!;
    }

    [Fact]
    public void A_public_sector_subsidy_pays_forty_percent_of_the_discounted_price()
    {
        var plan = new TenantPlan("partner", 1_000, []);
        var program = new SubsidyProgram("public-sector", 4_000, M("100"), SubsidyExhaustion.FullPrice);

        var split = ChargeSplit.Of(1_000_000, TokenDirection.Completion, null, Quote(), plan, program, M("100"));

        Assert.Equal((M("3"), M("0.3"), M("1.08"), M("1.62")), (split.List, split.Discount, split.Subsidy, split.Tenant));
        Assert.Equal(M("2.7"), split.Due);
    }

    [Fact]
    public void A_program_pays_no_more_than_its_budget_has_left()
    {
        var program = new SubsidyProgram("first-million", 10_000, M("1"), SubsidyExhaustion.FullPrice);

        var partly = ChargeSplit.Of(1_000_000, TokenDirection.Completion, null, Quote(), TenantPlan.List, program, M("0.25"));
        var spent = ChargeSplit.Of(1_000_000, TokenDirection.Completion, null, Quote(), TenantPlan.List, program, Money.Zero);

        Assert.Equal((M("0.25"), M("2.75")), (partly.Subsidy, partly.Tenant));
        Assert.Equal((Money.Zero, M("3")), (spent.Subsidy, spent.Tenant));
    }

    [Fact]
    public void A_negotiated_price_replaces_the_list_price_for_its_model_and_direction()
    {
        var plan = new TenantPlan("enterprise", 5_000, [new("demo", TokenDirection.Completion, null, M("2"))]);

        var completion = ChargeSplit.Of(500_000, TokenDirection.Completion, null, Quote(), plan, null, Money.Zero);
        var prompt = ChargeSplit.Of(500_000, TokenDirection.Prompt, null, Quote(), plan, null, Money.Zero);

        Assert.Equal((M("1.5"), M("0.5"), M("1")), (completion.List, completion.Discount, completion.Tenant));
        Assert.Equal((M("0.5"), M("0.25"), M("0.25")), (prompt.List, prompt.Discount, prompt.Tenant));
    }

    [Fact]
    public void The_parts_of_every_line_add_up_to_its_list_amount_exactly()
    {
        var random = new Random(11);
        var quote = Quote();
        for (var trial = 0; trial < 5_000; trial++)
        {
            var plan = new TenantPlan("p", random.Next(0, 10_001), random.Next(3) == 0 ? [new("demo", TokenDirection.Prompt, null, new Money(random.Next(0, 9_000_000)))] : []);
            var program = random.Next(2) == 0 ? null : new SubsidyProgram("s", random.Next(0, 10_001), M("5"), SubsidyExhaustion.Refuse);
            var left = new Money(random.Next(0, 3_000_000));
            var split = ChargeSplit.Of(random.Next(0, 2_000_000), (TokenDirection)random.Next(2), null, quote, plan, program, left);

            Assert.Equal(split.List, split.Discount + split.Subsidy + split.Tenant);
            Assert.True(split.Subsidy >= Money.Zero && split.Tenant >= Money.Zero && split.Subsidy <= left || program is null);
        }
    }
}
