using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Tests.Support;

namespace TokenGrid.Grains.Tests.Billing;

/// <summary>
/// A tenant's <see cref="PriceBook"/> keeps one quote per model for the version in force: the same instance while that
/// version lasts, equal to the card's own quote, and a new one from the moment the next version takes effect.
/// </summary>
[Collection(TenantClusterCollection.Name)]
public sealed class PriceBookTests(TenantClusterFixture fixture)
{
    [Fact]
    public async Task The_kept_quote_is_the_cards_own_until_the_next_version_takes_effect()
    {
        var model = "book-" + Guid.NewGuid().ToString("N")[..8];
        var book = new PriceBook(fixture.Grains, fixture.Time);
        var first = await PublishAsync(new PriceEntry(model, TokenDirection.Completion, null, new Money(1_000_000)));

        var quote = await book.QuoteAsync(model);
        AssertSameQuote(first.QuoteFor(model)!, quote);
        Assert.Same(quote, await book.QuoteAsync(model));
        Assert.Null(await book.QuoteAsync(model + "-unpriced"));

        // Past the lease the card is leased again (a copy of the same version): the quote stays the one kept.
        fixture.Time.Advance(2 * RateCardGrain.LeaseTime);
        Assert.Same(quote, await book.QuoteAsync(model));

        var second = await PublishAsync(
            new PriceEntry(model, TokenDirection.Completion, null, new Money(5_000_000)),
            new PriceEntry(model, TokenDirection.Completion, "north", new Money(4_000_000)));
        var next = await book.QuoteAsync(model);
        AssertSameQuote(second.QuoteFor(model)!, next);
        Assert.Equal(new Money(5_000_000), JobCost.MaxTenant(next!, TenantPlan.List, 0, default, 0, 1_000_000));
    }

    private static void AssertSameQuote(PriceQuote expected, PriceQuote? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal((expected.Version, expected.Currency, expected.Model), (actual.Version, actual.Currency, actual.Model));
        Assert.Equal(expected.Prices, actual.Prices);
    }

    /// <summary>Publishes a version and moves the clock to when it takes effect.</summary>
    private async Task<RateCardVersion> PublishAsync(params PriceEntry[] prices)
    {
        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        var version = await fixture.Grains.GetGrain<IRateCardGrain>(0).PublishAsync("USD", prices, null);
        if (version.EffectiveFrom > fixture.Time.GetUtcNow())
        {
            fixture.Time.Advance(version.EffectiveFrom - fixture.Time.GetUtcNow());
        }

        return version;
    }
}
