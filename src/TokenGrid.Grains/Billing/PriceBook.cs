using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// A tenant grain's copy of what prices its admissions: the rate card, leased from <see cref="IRateCardGrain"/> (good
/// until the lease ends, so pricing from it is exact), and the shares of subsidy programs, fetched at most every
/// <see cref="ProgramRefresh"/> (a share change reaches admissions within that time; it cannot overspend a program,
/// whose reservation caps what it pays). Not thread-safe: the grain's scheduler is its lock.
/// </summary>
/// <param name="grains">Reaches the rate card and the programs.</param>
/// <param name="timeProvider">The clock leases are read against.</param>
public sealed class PriceBook(IGrainFactory grains, TimeProvider timeProvider)
{
    /// <summary>How long a program's share is used before it is fetched again.</summary>
    public static readonly TimeSpan ProgramRefresh = TimeSpan.FromSeconds(5);

    /// <summary>The most models whose quotes are kept; past it they start over (a guard, not a limit models meet).</summary>
    private const int MaxQuotes = 256;

    private readonly Dictionary<string, (SubsidyProgram? Program, DateTimeOffset FetchedAt)> _programs = new(StringComparer.Ordinal);
    private RateCardLease? _lease;

    /// <summary>The version <see cref="_quotes"/> were made from.</summary>
    private RateCardVersion? _quoted;

    /// <summary>The quote of each model asked for under <see cref="_quoted"/> (null: it does not price the model).</summary>
    private readonly Dictionary<string, PriceQuote?> _quotes = new(StringComparer.Ordinal);

    /// <summary>
    /// The quote in force now for <paramref name="model"/>, or null when the card does not price it. The same instance
    /// for as long as the same version is in force, so what is worked out from a quote can be kept with it (see
    /// <see cref="JobCost"/>) and the open jobs of a saved state share one. <paramref name="now"/>: the caller's
    /// reading of the clock (read here when not given).
    /// </summary>
    public async ValueTask<PriceQuote?> QuoteAsync(string model, DateTimeOffset? now = null)
    {
        var at = now ?? timeProvider.GetUtcNow();
        if (_lease is null || at >= _lease.StableUntil)
        {
            _lease = await grains.GetGrain<IRateCardGrain>(0).LeaseAsync();
            at = timeProvider.GetUtcNow();
        }

        if (_lease.VersionAt(at) is not { } version)
        {
            return null;
        }

        if (!SameVersion(version, _quoted) || _quotes.Count >= MaxQuotes)
        {
            _quotes.Clear();
        }

        // A lease renewed from another silo brings copies of the same versions: the quotes made from them stay.
        _quoted = version;
        if (!_quotes.TryGetValue(model, out var quote))
        {
            _quotes[model] = quote = version.QuoteFor(model);
        }

        return quote;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are the same version of the card (perhaps as copies).</summary>
    private static bool SameVersion(RateCardVersion a, RateCardVersion? b) =>
        ReferenceEquals(a, b)
        || (b is not null && a.Version == b.Version && a.EffectiveFrom == b.EffectiveFrom
            && string.Equals(a.Currency, b.Currency, StringComparison.Ordinal) && a.Prices.SequenceEqual(b.Prices));

    /// <summary>
    /// The program <paramref name="programId"/>, or null when it does not exist. <paramref name="now"/>: the caller's
    /// reading of the clock (read here when not given).
    /// </summary>
    public async ValueTask<SubsidyProgram?> ProgramAsync(string programId, DateTimeOffset? now = null)
    {
        var at = now ?? timeProvider.GetUtcNow();
        if (_programs.TryGetValue(programId, out var known) && at - known.FetchedAt < ProgramRefresh)
        {
            return known.Program;
        }

        var program = (await grains.GetGrain<ISubsidyProgramGrain>(programId).GetAsync())?.Program;
        _programs[programId] = (program, at);
        return program;
    }
}
