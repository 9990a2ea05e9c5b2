using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Audit;

namespace TokenGrid.Grains.Billing;

/// <summary>The cluster's rate card (key 0), persisted with the grid's other state; see <see cref="IRateCardGrain"/>.</summary>
public sealed class RateCardGrain(
    [PersistentState("rate-card", TokenGridStorage.Name)] IPersistentState<RateCard> state,
    TimeProvider timeProvider)
    : Grain, IRateCardGrain
{
    /// <summary>How long a copy of the card handed out stays true (and how soon, at most, a new version can take effect).</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A previous activation (on a silo now gone) may have handed out copies; they end within a lease time of now.
        state.State.LeasedUntil = timeProvider.GetUtcNow() + LeaseTime;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<RateCardLease> LeaseAsync()
    {
        var until = timeProvider.GetUtcNow() + LeaseTime;
        if (until > state.State.LeasedUntil)
        {
            state.State.LeasedUntil = until;
        }

        return Task.FromResult(new RateCardLease([.. state.State.Versions], until));
    }

    /// <inheritdoc />
    public async Task<RateCardVersion> PublishAsync(string currency, IReadOnlyList<PriceEntry> prices, DateTimeOffset? effectiveFrom, string? actor = null)
    {
        var before = state.State.Versions.Count > 0 ? state.State.Versions[^1] : null;
        if (state.State.TryAdd(currency, prices, timeProvider.GetUtcNow(), effectiveFrom, out var added) is { } refused)
        {
            throw new RateCardRefusedException(refused.Field, refused.Reason);
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Unsaved: the version must not be in force here while the store does not hold it. The copies handed out
            // stay promised.
            var leased = state.State.LeasedUntil;
            await state.ReadStateAsync();
            state.State.LeasedUntil = leased;
            throw;
        }

        if (actor is not null)
        {
            // In this turn, so the next publication waits for it: the log has them in order, each after the one before.
            await ServiceProvider.GetRequiredService<IAuditRecorder>().RecordAsync(actor, AuditActions.PricesPublish, AuditActions.RateCard, before, added);
        }

        return added!;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RateCardVersion>> ListAsync() => Task.FromResult<IReadOnlyList<RateCardVersion>>([.. state.State.Versions]);

    /// <inheritdoc />
    public Task<PriceQuote?> QuoteAsync(string model) =>
        Task.FromResult(state.State.VersionAt(timeProvider.GetUtcNow())?.QuoteFor(model));
}
