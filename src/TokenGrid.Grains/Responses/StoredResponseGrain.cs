using TokenGrid.Abstractions.Responses;

namespace TokenGrid.Grains.Responses;

/// <summary>
/// One stored response (key: its id), in the grain storage named <see cref="TokenGridStorage.Name"/>: memory in the
/// local profile, the database in the postgres one. Nothing sweeps expired ones: <see cref="GetAsync"/> answers as if
/// a response past its <see cref="StoredResponse.KeepUntil"/> were missing, so its state stays in storage unread.
/// </summary>
public sealed class StoredResponseGrain(
    [PersistentState("stored-response", TokenGridStorage.Name)] IPersistentState<StoredResponseState> state,
    TimeProvider timeProvider)
    : Grain, IStoredResponseGrain
{
    /// <inheritdoc/>
    public async Task StoreAsync(StoredResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (state.State.Response is { } stored && stored.TenantId != response.TenantId)
        {
            // Response ids are random: another tenant's under the same id is a bug, never an overwrite.
            throw new InvalidOperationException("This response id is already stored for another tenant.");
        }

        state.State.Response = response;
        await state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public Task<StoredResponse?> GetAsync(string tenantId)
    {
        if (state.State.Response is not { } response)
        {
            // An unknown id leaves nothing worth keeping active (a client guessing ids would leave one activation each).
            DeactivateOnIdle();
            return Task.FromResult<StoredResponse?>(null);
        }

        return Task.FromResult(IsLive(response, tenantId) ? response : null);
    }

    /// <inheritdoc/>
    public async Task<bool> DeleteAsync(string tenantId)
    {
        if (state.State.Response is not { } response || !IsLive(response, tenantId))
        {
            return false;
        }

        await state.ClearStateAsync();
        DeactivateOnIdle();
        return true;
    }

    private bool IsLive(StoredResponse response, string tenantId) =>
        response.TenantId == tenantId && timeProvider.GetUtcNow() < response.KeepUntil;
}
