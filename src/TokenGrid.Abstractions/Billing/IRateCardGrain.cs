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
    /// allows, within a lease time of now). Throws
    /// <see cref="ArgumentException"/> with the reason when it is refused (retroactive, out of order, another currency,
    /// a negative or duplicate price).
    /// </summary>
    Task<RateCardVersion> PublishAsync(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset? effectiveFrom);

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
