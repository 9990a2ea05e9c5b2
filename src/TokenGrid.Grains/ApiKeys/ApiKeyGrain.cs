using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.ApiKeys;

/// <summary>Resolves one API key hash (the grain key) to its tenant's key, until it is revoked.</summary>
public sealed class ApiKeyGrain(
    [PersistentState("apikey", TokenGridStorage.Name)] IPersistentState<ApiKeyState> state)
    : Grain, IApiKeyGrain
{
    /// <inheritdoc/>
    public async Task BindAsync(ApiKeyInfo key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (state.State.Key is { } bound)
        {
            // Binding is idempotent for the same key; a different key under the same hash is refused.
            if (bound.KeyId == key.KeyId && bound.TenantId == key.TenantId)
            {
                return;
            }

            throw new InvalidOperationException("This key hash is already bound to another key.");
        }

        state.State.Key = key;
        await state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public async Task RevokeAsync(DateTimeOffset at)
    {
        if (state.State.Key is not { RevokedAt: null } key)
        {
            return;
        }

        state.State.Key = key with { RevokedAt = at };
        await state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public Task<ApiKeyInfo?> ResolveAsync() =>
        Task.FromResult(state.State.Key is { RevokedAt: null } key ? key : null);
}
