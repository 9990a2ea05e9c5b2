using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class RateCardTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static Money M(string text) => Money.TryParse(text, out var money) ? money : throw new ArgumentException(text);

    private static PriceEntry[] Demo(string prompt, string completion, string? region = null) =>
        [new("demo", TokenDirection.Prompt, region, M(prompt)), new("demo", TokenDirection.Completion, region, M(completion))];

    [Fact]
    public void A_job_is_priced_by_the_version_in_force_when_it_was_admitted()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", Demo("1", "2"), s_now, null, out _)?.Reason);
        Assert.Null(card.TryAdd("USD", Demo("3", "4"), s_now, s_now.AddDays(1), out _)?.Reason);

        var before = card.VersionAt(s_now.AddHours(23))!.QuoteFor("demo")!;
        var after = card.VersionAt(s_now.AddDays(1))!.QuoteFor("demo")!;

        Assert.Null(card.VersionAt(s_now.AddTicks(-1)));
        Assert.Equal((1, M("1")), (before.Version, before.PerMillion(TokenDirection.Prompt, null)));
        Assert.Equal((2, M("4")), (after.Version, after.PerMillion(TokenDirection.Completion, "any-region")));
        Assert.Null(card.VersionAt(s_now)!.QuoteFor("other"));
    }

    [Fact]
    public void A_change_is_never_retroactive_nor_out_of_order_nor_in_another_currency()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddDays(2), out _)?.Reason);

        Assert.Contains("in the past", card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddSeconds(-1), out _)?.Reason);
        Assert.Contains("not after the latest", card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddDays(1), out _)?.Reason);
        Assert.Contains("mix currencies", card.TryAdd("EUR", Demo("1", "2"), s_now, s_now.AddDays(3), out _)?.Reason);
        Assert.Contains("ISO 4217", card.TryAdd("usd", Demo("1", "2"), s_now, s_now.AddDays(3), out _)?.Reason);
        Assert.Contains("negative", card.TryAdd("USD", Demo("-1", "2"), s_now, s_now.AddDays(3), out _)?.Reason);
        Assert.Contains("priced twice", card.TryAdd("USD", [.. Demo("1", "2"), .. Demo("1", "2")], s_now, s_now.AddDays(3), out _)?.Reason);
        Assert.Single(card.Versions);
    }

    [Fact]
    public void Versions_published_one_after_another_without_a_time_within_a_lease_take_increasing_times()
    {
        // Copies handed out are good until the end of the lease; the first version takes that moment.
        var card = new RateCard { LeasedUntil = s_now + RateCardGrain.LeaseTime };
        Assert.Null(card.TryAdd("USD", Demo("1", "2"), s_now, null, out var first));
        Assert.Null(card.TryAdd("USD", Demo("3", "4"), s_now, null, out var second));

        Assert.Equal((1, s_now + RateCardGrain.LeaseTime), (first!.Version, first.EffectiveFrom));
        Assert.Equal((2, first.EffectiveFrom.AddTicks(1)), (second!.Version, second.EffectiveFrom));
    }

    [Fact]
    public void A_refusal_names_the_field_at_fault_and_a_default_time_never_jumps_past_a_later_version()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddDays(2), out _));

        Assert.Equal("effective_from", card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddSeconds(-1), out _)?.Field);
        Assert.Equal("effective_from", card.TryAdd("USD", Demo("1", "2"), s_now, s_now.AddDays(1), out _)?.Field);
        Assert.Equal("currency", card.TryAdd("EUR", Demo("1", "2"), s_now, s_now.AddDays(3), out _)?.Field);
        Assert.Equal("currency", card.TryAdd("usd", Demo("1", "2"), s_now, s_now.AddDays(3), out _)?.Field);
        Assert.Equal("prices", card.TryAdd("USD", Demo("-1", "2"), s_now, s_now.AddDays(3), out _)?.Field);

        // Left out, the time is now or within a lease: a version two days ahead is not silently followed.
        var refused = card.TryAdd("USD", Demo("1", "2"), s_now, null, out _);
        Assert.Equal("effective_from", refused?.Field);
        Assert.Contains("give an effective_from after it", refused?.Reason);
        Assert.Single(card.Versions);
    }

    [Fact]
    public void An_effective_from_is_kept_in_UTC()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", Demo("1", "2"), s_now, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.FromHours(5.5)), out var version));
        Assert.Equal(TimeSpan.Zero, version!.EffectiveFrom.Offset);
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 18, 30, 0, TimeSpan.Zero), version.EffectiveFrom);
    }

    [Fact]
    public void A_region_s_own_price_wins_and_others_fall_back_to_the_price_for_any_region()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", [.. Demo("1", "2"), .. Demo("0.5", "1", "north")], s_now, null, out var version));
        var quote = version!.QuoteFor("demo")!;

        Assert.Equal(M("0.5"), quote.PerMillion(TokenDirection.Prompt, "north"));
        Assert.Equal(M("1"), quote.PerMillion(TokenDirection.Prompt, "south"));
        Assert.Equal(M("1"), quote.PerMillion(TokenDirection.Prompt, null));
        Assert.Equal(M("2"), quote.MaxPerMillion(TokenDirection.Completion));
    }

    [Fact]
    public void The_reservation_covers_every_settlement_of_every_choice_in_any_region()
    {
        var card = new RateCard();
        Assert.Null(card.TryAdd("USD", [.. Demo("1.5", "2.5"), .. Demo("0.3", "3.7", "north")], s_now, null, out var version));
        var quote = version!.QuoteFor("demo")!;
        var random = new Random(7);
        for (var trial = 0; trial < 2_000; trial++)
        {
            var prompt = random.Next(0, 5_000);
            var maxTokens = random.Next(1, 50);
            var choices = random.Next(1, 5);
            var reserved = quote.MaxCost(prompt, maxTokens, choices);

            // Choice 0 is charged the prompt; each choice its own completion line, on a node of any region.
            string?[] regions = [null, "north", "south"];
            var charged = Pricing.Amount(prompt, quote.PerMillion(TokenDirection.Prompt, regions[random.Next(3)]));
            for (var choice = 0; choice < choices; choice++)
            {
                charged += Pricing.Amount(random.Next(0, maxTokens + 1), quote.PerMillion(TokenDirection.Completion, regions[random.Next(3)]));
            }

            Assert.True(charged <= reserved, $"trial {trial}: charged {charged} above the reservation {reserved}");
        }
    }
}
