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

    private readonly Dictionary<string, (SubsidyProgram? Program, DateTimeOffset FetchedAt)> _programs = new(StringComparer.Ordinal);
    private RateCardLease? _lease;

    /// <summary>The quote in force now for <paramref name="model"/>, or null when the card does not price it.</summary>
    public async ValueTask<PriceQuote?> QuoteAsync(string model)
    {
        if (_lease is null || timeProvider.GetUtcNow() >= _lease.StableUntil)
        {
            _lease = await grains.GetGrain<IRateCardGrain>(0).LeaseAsync();
        }

        return _lease.VersionAt(timeProvider.GetUtcNow())?.QuoteFor(model);
    }

    /// <summary>The program <paramref name="programId"/>, or null when it does not exist.</summary>
    public async ValueTask<SubsidyProgram?> ProgramAsync(string programId)
    {
        var now = timeProvider.GetUtcNow();
        if (_programs.TryGetValue(programId, out var known) && now - known.FetchedAt < ProgramRefresh)
        {
            return known.Program;
        }

        var program = (await grains.GetGrain<ISubsidyProgramGrain>(programId).GetAsync())?.Program;
        _programs[programId] = (program, now);
        return program;
    }
}
