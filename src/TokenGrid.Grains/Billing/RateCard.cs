namespace TokenGrid.Grains.Billing;

/// <summary>Which side of a request tokens are on: the prompt read, or the completion written.</summary>
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
public sealed record PriceEntry(string Model, TokenDirection Direction, string? Region, Money PerMillion);

/// <summary>
/// One version of the rate card: every price in force from <paramref name="EffectiveFrom"/> until the next version,
/// in one <paramref name="Currency"/>.
/// </summary>
public sealed record RateCardVersion(int Version, DateTimeOffset EffectiveFrom, string Currency, IReadOnlyList<PriceEntry> Prices)
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

    /// <summary>A reason this version is invalid, or null.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Currency) || Currency.Length != 3 || !Currency.All(char.IsAsciiLetterUpper))
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

/// <summary>
/// The rate card's history: versions in order of their effective time. A new version takes effect at or after the
/// moment it is added, never before, so a price change is never retroactive; a job is priced by the version in force
/// when it was admitted (its reservation carries that <see cref="PriceQuote"/>).
/// </summary>
public sealed class RateCard
{
    private readonly List<RateCardVersion> _versions = [];

    /// <summary>Every version, oldest first.</summary>
    public IReadOnlyList<RateCardVersion> Versions => _versions;

    /// <summary>The version in force at <paramref name="at"/>, or null before the first.</summary>
    public RateCardVersion? VersionAt(DateTimeOffset at)
    {
        for (var i = _versions.Count - 1; i >= 0; i--)
        {
            if (_versions[i].EffectiveFrom <= at)
            {
                return _versions[i];
            }
        }

        return null;
    }

    /// <summary>
    /// Adds the next version, in force from <paramref name="effectiveFrom"/> (null: <paramref name="now"/>). Returns the
    /// reason it is refused, or null: a time before <paramref name="now"/> or before the latest version's would reprice
    /// what was already admitted.
    /// </summary>
    public string? TryAdd(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset now, DateTimeOffset? effectiveFrom, out RateCardVersion? added)
    {
        added = null;
        var from = effectiveFrom ?? now;
        if (from < now)
        {
            return $"effective_from {from:O} is in the past: a price change is never retroactive.";
        }

        if (_versions.Count > 0 && from <= _versions[^1].EffectiveFrom)
        {
            return $"effective_from {from:O} is not after the latest version's ({_versions[^1].EffectiveFrom:O}).";
        }

        var version = new RateCardVersion(_versions.Count + 1, from, currency, prices);
        if (version.Validate() is { } error)
        {
            return error;
        }

        if (_versions.Count > 0 && !string.Equals(currency, _versions[^1].Currency, StringComparison.Ordinal))
        {
            return $"the card is in {_versions[^1].Currency}; a version in {currency} would make statements mix currencies.";
        }

        _versions.Add(version);
        added = version;
        return null;
    }
}
