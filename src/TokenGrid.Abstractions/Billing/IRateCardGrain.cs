using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// The cluster's rate card (key 0): its effective-dated versions, the only place prices change. Admission asks it for
/// the quote in force, which the job's reservation then carries to settlement.
/// </summary>
public interface IRateCardGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Adds the next version, in force from <paramref name="effectiveFrom"/> (null: as soon as every copy handed out
    /// allows and after the latest version, within a lease time of now). Throws <see cref="RateCardRefusedException"/>
    /// with the field at fault and the reason when it is refused (retroactive, out of order, another currency, a
    /// negative or duplicate price). When <paramref name="actor"/> is given (the admin API gives it), the publication is
    /// recorded in the audit log in this grain's turn, with the version it follows as <c>before</c>, so concurrent
    /// publications are recorded in the order they were made.
    /// </summary>
    Task<RateCardVersion> PublishAsync(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset? effectiveFrom, string? actor = null);

    /// <summary>Every version, oldest first.</summary>
    [ReadOnly]
    Task<IReadOnlyList<RateCardVersion>> ListAsync();

    /// <summary>
    /// A copy of the card good for <c>RateCardGrain.LeaseTime</c>, for pricing admissions without a call each. Not
    /// interleaved with <see cref="PublishAsync"/>, so no copy misses a version that takes effect within its lease.
    /// </summary>
    Task<RateCardLease> LeaseAsync();

    /// <summary>The quote for <paramref name="model"/> in force now, or null when the card does not price it.</summary>
    [ReadOnly]
    Task<PriceQuote?> QuoteAsync(string model);
}

/// <summary>
/// A rate card version was refused (HTTP 400 naming <see cref="Field"/>): retroactive, out of order, in another
/// currency, or with a negative or duplicate price.
/// </summary>
[GenerateSerializer, Alias("tg.RateCardRefusedException")]
public sealed class RateCardRefusedException(string field, string reason) : ArgumentException(reason)
{
    /// <summary>The request field at fault: <c>effective_from</c>, <c>currency</c> or <c>prices</c>.</summary>
    [Id(0)] public string Field { get; } = field;
}
