using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Capacity;

/// <summary>
/// The dashboard sessions signed out before their end (one activation, key 0), so that a copy of a signed-out session
/// cookie opens nothing on any silo. A session is known by the random id its cookie carries; it is kept until the
/// session would have ended anyway.
/// </summary>
public interface IDashboardSessionsGrain : IGrainWithIntegerKey
{
    /// <summary>Ends the session <paramref name="sessionId"/>, which would otherwise last until <paramref name="expiresAt"/>.</summary>
    Task RevokeAsync(string sessionId, DateTimeOffset expiresAt);

    /// <summary>Whether the session <paramref name="sessionId"/> was signed out.</summary>
    [ReadOnly]
    Task<bool> IsRevokedAsync(string sessionId);
}
