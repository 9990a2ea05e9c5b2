using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Responses;

/// <summary>
/// A response of the Responses API kept for its tenant (key: the response id, <c>resp_…</c>) because it was created
/// with <c>store</c> true: the response object as <c>POST /v1/responses</c> returned it, so that its output items can be
/// sent back as <c>item_reference</c> and the response read with <c>GET /v1/responses/{id}</c>. It is kept for
/// <see cref="StoredResponse.KeepUntil"/>, a bound the grain enforces on read.
/// </summary>
public interface IStoredResponseGrain : IGrainWithStringKey
{
    /// <summary>Keeps <paramref name="response"/>; storing the same response again replaces it.</summary>
    Task StoreAsync(StoredResponse response);

    /// <summary>
    /// The response when it is stored for <paramref name="tenantId"/> and younger than <see cref="StoredResponse.KeepUntil"/>;
    /// null when it is missing, another tenant's, or older.
    /// </summary>
    [ReadOnly]
    Task<StoredResponse?> GetAsync(string tenantId);

    /// <summary>
    /// Deletes the response when <see cref="GetAsync"/> would return it to <paramref name="tenantId"/>; whether it did
    /// (false: missing, another tenant's, or older than the retention, which is left as it is).
    /// </summary>
    Task<bool> DeleteAsync(string tenantId);
}

/// <summary>A stored response: its tenant, when it was stored and until when it is kept, and the response object's JSON text.</summary>
/// <param name="TenantId">The tenant that created it, the only one that can read it.</param>
/// <param name="StoredAt">When its response ended and it was stored.</param>
/// <param name="Json">The response object (non-streamed shape) as the API serialized it.</param>
/// <param name="KeepUntil">
/// Until when it can be read: <paramref name="StoredAt"/> plus the retention in force when it was stored
/// (<c>TokenGrid:Retention:StoredResponses</c>, 30 days by default).
/// </param>
[GenerateSerializer, Immutable, Alias("tg.StoredResponse")]
public sealed record StoredResponse(
    [property: Id(0)] string TenantId,
    [property: Id(1)] DateTimeOffset StoredAt,
    [property: Id(2)] string Json,
    [property: Id(3)] DateTimeOffset KeepUntil);
