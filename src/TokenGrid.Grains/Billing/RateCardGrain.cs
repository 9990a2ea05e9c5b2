using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>The cluster's rate card (key 0), persisted with the grid's other state; see <see cref="IRateCardGrain"/>.</summary>
public sealed class RateCardGrain(
    [PersistentState("rate-card", TokenGridStorage.Name)] IPersistentState<RateCard> state,
    TimeProvider timeProvider)
    : Grain, IRateCardGrain
{
    /// <inheritdoc />
    public async Task<RateCardVersion> PublishAsync(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset? effectiveFrom)
    {
        if (state.State.TryAdd(currency, prices, timeProvider.GetUtcNow(), effectiveFrom, out var added) is { } refused)
        {
            throw new ArgumentException(refused);
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Unsaved: the version must not be in force here while the store does not hold it.
            await state.ReadStateAsync();
            throw;
        }

        return added!;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RateCardVersion>> ListAsync() => Task.FromResult<IReadOnlyList<RateCardVersion>>([.. state.State.Versions]);

    /// <inheritdoc />
    public Task<PriceQuote?> QuoteAsync(string model) =>
        Task.FromResult(state.State.VersionAt(timeProvider.GetUtcNow())?.QuoteFor(model));
}
