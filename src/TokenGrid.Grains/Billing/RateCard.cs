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
    /// Adds the next version, in force from <paramref name="effectiveFrom"/> (null: the earliest moment it can be: now, the
    /// end of the copies handed out, or just after the latest version when that is later, all within a lease time of
    /// now). Returns the field at fault and why it is refused, or null: a time before <paramref name="now"/> or not after
    /// the latest version's would reprice what was already admitted, and one before <see cref="LeasedUntil"/> would not
    /// be seen in time by silos pricing from their copy.
    /// </summary>
    public RateCardRefusal? TryAdd(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset now, DateTimeOffset? effectiveFrom, out RateCardVersion? added)
    {
        added = null;
        var latest = _versions.Count > 0 ? _versions[^1] : null;
        var from = effectiveFrom?.ToUniversalTime() ?? DefaultEffectiveFrom(now, latest);
        if (from < now)
        {
            return new(EffectiveFromField, $"effective_from {from:O} is in the past: a price change is never retroactive.");
        }

        if (from < LeasedUntil)
        {
            return new(EffectiveFromField, $"effective_from {from:O} is sooner than silos' copies of the card are good for (until {LeasedUntil:O}); choose a later time or leave it out.");
        }

        if (latest is not null && from <= latest.EffectiveFrom)
        {
            return new(EffectiveFromField, effectiveFrom is null
                ? $"the latest version takes effect at {latest.EffectiveFrom:O}, more than a lease time from now, so effective_from cannot default to now; give an effective_from after it."
                : $"effective_from {from:O} is not after the latest version's ({latest.EffectiveFrom:O}).");
        }

        var version = new RateCardVersion(_versions.Count + 1, from, currency, prices);
        if (version.Validate() is { } error)
        {
            return new(RateCardVersion.IsCurrency(currency) ? "prices" : "currency", error);
        }

        if (latest is not null && !string.Equals(currency, latest.Currency, StringComparison.Ordinal))
        {
            return new("currency", $"the card is in {latest.Currency}; a version in {currency} would make statements mix currencies.");
        }

        _versions.Add(version);
        added = version;
        return null;
    }

    private const string EffectiveFromField = "effective_from";

    /// <summary>
    /// Now, or the end of the copies handed out, or one tick after the latest version when that is later and still
    /// within a lease time of now (a version published just before, by default, takes the end of the lease itself).
    /// </summary>
    private DateTimeOffset DefaultEffectiveFrom(DateTimeOffset now, RateCardVersion? latest)
    {
        var from = LeasedUntil > now ? LeasedUntil : now;
        if (latest is not null && latest.EffectiveFrom >= from && latest.EffectiveFrom <= now + RateCardGrain.LeaseTime)
        {
            from = latest.EffectiveFrom.AddTicks(1);
        }

        return from;
    }
}

/// <summary>Why <see cref="RateCard.TryAdd"/> refused a version, and the request field at fault.</summary>
/// <param name="Field">The field to name: <c>effective_from</c>, <c>currency</c> or <c>prices</c>.</param>
/// <param name="Reason">What is wrong, for the admin.</param>
public sealed record RateCardRefusal(string Field, string Reason)
{
    /// <summary>The reason (so a refusal reads as its message).</summary>
    public override string ToString() => Reason;
}
