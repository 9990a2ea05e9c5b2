using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// A tenant's API keys under <c>/admin/tenants/{id}/keys</c>: issue (the secret is shown once), list, revoke. Issues and
/// revocations are recorded in the audit log, without the secret.
/// </summary>
internal static class AdminKeysApi
{
    public static RouteGroupBuilder MapAdminKeysApi(this RouteGroupBuilder admin)
    {
        var keys = admin.MapGroup("/tenants/{id}/keys").WithTags("Admin");
        keys.MapPost("/", IssueKeyAsync).WithName("IssueKey").Accepts<IssueKeyRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        keys.MapGet("/", ListKeysAsync).WithName("ListKeys");
        keys.MapDelete("/{keyId}", RevokeKeyAsync).WithName("RevokeKey").ProducesProblem(StatusCodes.Status404NotFound);
        return admin;
    }

    internal static async Task<Created<IssuedKeyView>> IssueKeyAsync(string id, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var request = http.Request.ContentLength is 0 ? new IssueKeyRequest(null) : await RequestJson.ReadAsync<IssueKeyRequest>(http);
        var issued = await grains.GetGrain<ITenantGrain>(id).IssueKeyAsync(request.Name ?? "default");
        var key = issued.Key;
        await audit.RecordAsync(http, AuditActions.KeyIssue, key.KeyId, null, key);
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
    internal static async Task<NoContent> RevokeKeyAsync(string id, string keyId, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var tenant = grains.GetGrain<ITenantGrain>(id);
        var before = await FindAsync(tenant, keyId);
        if (!await tenant.RevokeKeyAsync(keyId))
        {
            throw new ApiProblemException(ApiProblems.KeyNotFound(keyId));
        }

        await audit.RecordAsync(http, AuditActions.KeyRevoke, keyId, before, await FindAsync(tenant, keyId));
        return TypedResults.NoContent();
    }

    /// <summary>The key as the listing shows it, or null (no such key, or no such tenant: revoking answers 404 then).</summary>
    private static async Task<ApiKeyInfo?> FindAsync(ITenantGrain tenant, string keyId)
    {
        try
        {
            return (await tenant.ListKeysAsync()).FirstOrDefault(k => k.KeyId == keyId);
        }
        catch (TenantNotFoundException)
        {
            return null;
        }
    }
}

/// <summary>The body of <c>POST /admin/tenants/{id}/keys</c>.</summary>
public sealed record IssueKeyRequest(string? Name);

/// <summary>A newly issued key: <see cref="Secret"/> appears in this reply only.</summary>
public sealed record IssuedKeyView(string KeyId, string TenantId, string Name, string Prefix, DateTimeOffset CreatedAt, string Secret);
