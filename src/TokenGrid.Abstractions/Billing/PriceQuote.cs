namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// A model's prices as one rate card version set them, carried by a job's reservation from admission to settlement.
/// The region that creates the tokens is known only when a node runs them, so the quote holds the price per region and
/// admission reserves at the highest one.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.PriceQuote")]
public sealed record PriceQuote(
    [property: Id(0)] int Version, [property: Id(1)] string Currency, [property: Id(2)] string Model, [property: Id(3)] IReadOnlyList<PriceEntry> Prices)
{
    /// <summary>
    /// The price per million <paramref name="direction"/> tokens created in <paramref name="region"/>: the region's own
    /// price, else the price for any region, else nothing (zero: the card does not price that direction).
    /// </summary>
    public Money PerMillion(TokenDirection direction, string? region)
    {
        // Indexed rather than foreach: this runs for every line priced, and an interface's enumerator is an allocation.
        PriceEntry? any = null;
        for (var i = 0; i < Prices.Count; i++)
        {
            var price = Prices[i];
            if (price.Direction != direction)
            {
                continue;
            }

            if (region is not null && string.Equals(price.Region, region, StringComparison.Ordinal))
            {
                return price.PerMillion;
            }

            if (price.Region is null)
            {
                any = price;
            }
        }

        return any?.PerMillion ?? Money.Zero;
    }

    /// <summary>The highest price per million <paramref name="direction"/> tokens over every region.</summary>
    public Money MaxPerMillion(TokenDirection direction) =>
        Prices.Where(p => p.Direction == direction).Select(p => p.PerMillion).DefaultIfEmpty(Money.Zero).Max();

    /// <summary>
    /// The most a request can cost: <paramref name="promptTokens"/> and <paramref name="maxTokens"/> completion tokens
    /// per choice, for <paramref name="choices"/> choices whose prompt is charged once, each at its direction's highest
    /// price. Each choice settles its own completion line, rounded on its own, so the reservation is the rounded line
    /// times the choices (rounding the total once could reserve less than the lines charge); rounding is monotone in
    /// tokens, so no settlement exceeds it.
    /// </summary>
    public Money MaxCost(long promptTokens, long maxTokens, int choices)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(choices);
        var completion = Pricing.Amount(maxTokens, MaxPerMillion(TokenDirection.Completion));
        return Pricing.Amount(promptTokens, MaxPerMillion(TokenDirection.Prompt)) + new Money(checked(completion.Micros * choices));
    }
}
