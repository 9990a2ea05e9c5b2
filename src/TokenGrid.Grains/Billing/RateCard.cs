using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// The rate card's history: versions in order of their effective time. A new version takes effect at or after the
/// moment it is added, never before, so a price change is never retroactive; a job is priced by the version in force
/// when it was admitted (its reservation carries that <see cref="PriceQuote"/>).
/// </summary>
[GenerateSerializer, Alias("tg.RateCard")]
public sealed class RateCard
{
    [Id(0)] private readonly List<RateCardVersion> _versions = [];

    [NonSerialized]
    private DateTimeOffset _leasedUntil;

    /// <summary>
    /// Until when copies of the card handed out (<see cref="IRateCardGrain.LeaseAsync"/>) are promised to stay true: no
    /// version may take effect before it. Not saved: a new activation starts from a lease of its own.
    /// </summary>
    public DateTimeOffset LeasedUntil { get => _leasedUntil; set => _leasedUntil = value; }

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
    /// Adds the next version, in force from <paramref name="effectiveFrom"/> (null: the earliest moment it can be, now
    /// or the end of the copies handed out). Returns the reason it is refused, or null: a time before
    /// <paramref name="now"/> or before the latest version's would reprice what was already admitted, and one before
    /// <see cref="LeasedUntil"/> would not be seen in time by silos pricing from their copy.
    /// </summary>
    public string? TryAdd(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset now, DateTimeOffset? effectiveFrom, out RateCardVersion? added)
    {
        added = null;
        var from = effectiveFrom ?? (LeasedUntil > now ? LeasedUntil : now);
        if (from < now)
        {
            return $"effective_from {from:O} is in the past: a price change is never retroactive.";
        }

        if (from < LeasedUntil)
        {
            return $"effective_from {from:O} is sooner than silos' copies of the card are good for (until {LeasedUntil:O}); choose a later time or leave it out.";
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
