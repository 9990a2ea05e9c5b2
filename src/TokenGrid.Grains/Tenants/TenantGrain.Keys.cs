using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

public sealed partial class TenantGrain
{
    private const int MaxKeyNameLength = 100;

    /// <inheritdoc/>
    public async Task<IssuedApiKey> IssueKeyAsync(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaxKeyNameLength)
        {
            throw new ArgumentException($"name must be 1 to {MaxKeyNameLength} characters.", nameof(name));
        }

        var secret = ApiKeyHash.NewSecret();
        var hash = ApiKeyHash.Hash(secret);
        var key = new ApiKeyInfo(ApiKeyHash.NewKeyId(), TenantId, name.Trim(), ApiKeyHash.PrefixOf(secret), timeProvider.GetUtcNow(), null);

        // Saved before it is bound, so every key that can resolve is one this tenant lists and can revoke. If binding
        // fails the secret is never shown and the listed key never resolves.
        await ApplyAsync(() =>
        {
            RequireTenant();
            State.Keys.Add(new StoredApiKey(hash, key));
        });
        await grainFactory.GetGrain<IApiKeyGrain>(hash).BindAsync(key);

        LogKeyIssued(logger, TenantId, key.KeyId);
        return new IssuedApiKey(key, secret);
    }

    /// <inheritdoc/>
    /// <remarks>Revoking again re-sends the revocation (repairing a failed one) and keeps the first time.</remarks>
    public async Task<bool> RevokeKeyAsync(string keyId)
    {
        var stored = await ApplyAsync(() =>
        {
            var index = State.Keys.FindIndex(k => k.Info.KeyId == keyId);
            if (index < 0 || State.Keys[index].Info.RevokedAt is not null)
            {
                return index < 0 ? null : State.Keys[index];
            }

            State.Keys[index] = State.Keys[index] with { Info = State.Keys[index].Info with { RevokedAt = timeProvider.GetUtcNow() } };
            LogKeyRevoked(logger, TenantId, keyId);
            return State.Keys[index];
        });
        if (stored is null)
        {
            return false;
        }

        await grainFactory.GetGrain<IApiKeyGrain>(stored.Hash).RevokeAsync(stored.Info.RevokedAt!.Value);
        return true;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync()
    {
        RequireTenant();
        return Task.FromResult<IReadOnlyList<ApiKeyInfo>>([.. State.Keys.Select(k => k.Info)]);
    }
}
