using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>A tenant's API keys under <c>/admin/tenants/{id}/keys</c>: issue (the secret is shown once), list, revoke.</summary>
internal static class AdminKeysApi
{
    public static RouteGroupBuilder MapAdminKeysApi(this RouteGroupBuilder admin)
    {
        var keys = admin.MapGroup("/tenants/{id}/keys").WithTags("Admin");
        keys.MapPost("/", IssueKeyAsync).WithName("IssueKey").Accepts<IssueKeyRequest>("application/json");
        keys.MapGet("/", ListKeysAsync).WithName("ListKeys");
        keys.MapDelete("/{keyId}", RevokeKeyAsync).WithName("RevokeKey").ProducesProblem(StatusCodes.Status404NotFound);
        return admin;
    }

    internal static async Task<Created<IssuedKeyView>> IssueKeyAsync(string id, HttpContext http, IGrainFactory grains)
    {
        var request = http.Request.ContentLength is 0 ? new IssueKeyRequest(null) : await RequestJson.ReadAsync<IssueKeyRequest>(http);
        var issued = await grains.GetGrain<ITenantGrain>(id).IssueKeyAsync(request.Name ?? "default");
        var key = issued.Key;
        return TypedResults.Created(
            $"/admin/tenants/{id}/keys/{key.KeyId}",
            new IssuedKeyView(key.KeyId, key.TenantId, key.Name, key.Prefix, key.CreatedAt, issued.Secret));
    }

    internal static async Task<Ok<ListPage<ApiKeyInfo>>> ListKeysAsync(string id, IGrainFactory grains)
    {
        var keys = await grains.GetGrain<ITenantGrain>(id).ListKeysAsync();
        return TypedResults.Ok(new ListPage<ApiKeyInfo>(keys, false, null));
    }

    /// <summary>Revokes the key at once: the next request with it gets 401.</summary>
    internal static async Task<NoContent> RevokeKeyAsync(string id, string keyId, IGrainFactory grains) =>
        await grains.GetGrain<ITenantGrain>(id).RevokeKeyAsync(keyId)
            ? TypedResults.NoContent()
            : throw new ApiProblemException(ApiProblems.KeyNotFound(keyId));
}

/// <summary>The body of <c>POST /admin/tenants/{id}/keys</c>.</summary>
public sealed record IssueKeyRequest(string? Name);

/// <summary>A newly issued key: <see cref="Secret"/> appears in this reply only.</summary>
public sealed record IssuedKeyView(string KeyId, string TenantId, string Name, string Prefix, DateTimeOffset CreatedAt, string Secret);
