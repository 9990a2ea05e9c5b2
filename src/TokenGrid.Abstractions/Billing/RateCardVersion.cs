namespace TokenGrid.Abstractions.Billing;

/// <summary>Which side of a request tokens are on: the prompt read, or the completion written.</summary>
[GenerateSerializer, Alias("tg.TokenDirection")]
public enum TokenDirection
{
    /// <summary>Prompt (input) tokens.</summary>
    Prompt,

    /// <summary>Completion (output) tokens.</summary>
    Completion,
}

/// <summary>
/// One price: <paramref name="PerMillion"/> for a million <paramref name="Direction"/> tokens of
/// <paramref name="Model"/> created on a node whose region label is <paramref name="Region"/> (null: any region
/// without a price of its own).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.PriceEntry")]
public sealed record PriceEntry([property: Id(0)] string Model, [property: Id(1)] TokenDirection Direction, [property: Id(2)] string? Region, [property: Id(3)] Money PerMillion);

/// <summary>
/// One version of the rate card: every price in force from <paramref name="EffectiveFrom"/> until the next version,
/// in one <paramref name="Currency"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.RateCardVersion")]
public sealed record RateCardVersion(
    [property: Id(0)] int Version, [property: Id(1)] DateTimeOffset EffectiveFrom, [property: Id(2)] string Currency, [property: Id(3)] IReadOnlyList<PriceEntry> Prices)
{
    /// <summary>
    /// The quote for <paramref name="model"/> under this version, or null when the version prices neither of its
    /// directions.
    /// </summary>
    public PriceQuote? QuoteFor(string model)
    {
        var prices = Prices.Where(p => string.Equals(p.Model, model, StringComparison.Ordinal)).ToList();
        return prices.Count == 0 ? null : new PriceQuote(Version, Currency, model, prices);
    }

    /// <summary>Whether <paramref name="currency"/> has the shape of an ISO 4217 code: three capital letters.</summary>
    public static bool IsCurrency(string? currency) =>
        currency is { Length: 3 } && currency.All(char.IsAsciiLetterUpper);

    /// <summary>A reason this version is invalid, or null.</summary>
    public string? Validate()
    {
        if (!IsCurrency(Currency))
        {
            return $"currency '{Currency}' is not an ISO 4217 code such as USD.";
        }

        if (Prices.FirstOrDefault(p => p.PerMillion < Money.Zero) is { } negative)
        {
            return $"the price of {negative.Model} {negative.Direction} is negative.";
        }

        if (Prices.FirstOrDefault(p => string.IsNullOrWhiteSpace(p.Model)) is not null)
        {
            return "every price names a model.";
        }

        var duplicate = Prices.GroupBy(p => (p.Model, p.Direction, p.Region)).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? null
            : $"{duplicate.Key.Model} {duplicate.Key.Direction} is priced twice for region '{duplicate.Key.Region ?? "any"}'.";
    }
}
