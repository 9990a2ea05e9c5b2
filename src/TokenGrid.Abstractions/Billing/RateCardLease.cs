namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// A copy of the rate card that stays true until <paramref name="StableUntil"/>: the card accepts no version taking
/// effect before then, so an admission at any time before it is priced from the copy exactly as from the card.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.RateCardLease")]
public sealed record RateCardLease([property: Id(0)] IReadOnlyList<RateCardVersion> Versions, [property: Id(1)] DateTimeOffset StableUntil)
{
    /// <summary>The version in force at <paramref name="at"/>, or null before the first.</summary>
    public RateCardVersion? VersionAt(DateTimeOffset at)
    {
        for (var i = Versions.Count - 1; i >= 0; i--)
        {
            if (Versions[i].EffectiveFrom <= at)
            {
                return Versions[i];
            }
        }

        return null;
    }
}
