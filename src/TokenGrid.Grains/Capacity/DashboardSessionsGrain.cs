using TokenGrid.Abstractions.Capacity;

namespace TokenGrid.Grains.Capacity;

/// <summary>
/// The signed-out dashboard sessions (one activation, key 0), in grain storage, so every silo refuses them and they stay
/// refused across restarts where the storage is the database; each is forgotten once its session would have ended.
/// </summary>
public sealed class DashboardSessionsGrain(
    [PersistentState("dashboard-sessions", TokenGridStorage.Name)] IPersistentState<DashboardSessionsState> state,
    TimeProvider timeProvider)
    : Grain, IDashboardSessionsGrain
{
    /// <inheritdoc/>
    public async Task RevokeAsync(string sessionId, DateTimeOffset expiresAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        var now = timeProvider.GetUtcNow();
        var revoked = state.State.Revoked;
        foreach (var ended in revoked.Where(r => r.Value <= now).Select(r => r.Key).ToList())
        {
            revoked.Remove(ended);
        }

        if (expiresAt <= now)
        {
            return;
        }

        revoked[sessionId] = expiresAt;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Unsaved: say so (the sign-out fails) rather than refuse the session on this activation only.
            await state.ReadStateAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public Task<bool> IsRevokedAsync(string sessionId) =>
        Task.FromResult(state.State.Revoked.TryGetValue(sessionId, out var until) && until > timeProvider.GetUtcNow());
}

/// <summary>What <see cref="DashboardSessionsGrain"/> persists: signed-out session ids and when each would have ended.</summary>
[GenerateSerializer, Alias("tg.DashboardSessionsState")]
public sealed class DashboardSessionsState
{
    /// <summary>Session id → the end of its lifetime.</summary>
    [Id(0)] public Dictionary<string, DateTimeOffset> Revoked { get; set; } = new(StringComparer.Ordinal);
}
