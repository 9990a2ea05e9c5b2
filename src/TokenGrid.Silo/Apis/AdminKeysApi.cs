using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Options;
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
        keys.MapGet("/", ListKeysAsync).WithName("ListKeys").ProducesProblem(StatusCodes.Status404NotFound).Documents(
            ("limit", true, "Keys per page, in key id order. Default and maximum: configured."),
            ("after", false, "The last_id of the previous page: the page of keys after that key id."));
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

    /// <summary>
    /// <c>?limit=&amp;after=</c>, a page of the tenant's keys in key id order, as <c>GET /admin/tenants</c> pages tenants
    /// (same limits, <c>has_more</c> and <c>last_id</c>). Revoked keys are listed too, as before.
    /// </summary>
    /// <remarks>
    /// Cut from the grain's whole list here rather than by a new grain method, which a silo of the previous release would
    /// not have during a rolling update (k8s/README.md, "Upgrades"); the list is the tenant's key records, held in its
    /// state anyway.
    /// </remarks>
    internal static async Task<Ok<ListPage<ApiKeyInfo>>> ListKeysAsync(string id, HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var pageSize = (int)(QueryValues.Integer(request, "limit", 1, options.Value.MaxPageSize) ?? options.Value.DefaultPageSize);
        var after = QueryValues.Single(request, "after");
        var keys = (await grains.GetGrain<ITenantGrain>(id).ListKeysAsync())
            .Where(k => after is null || string.CompareOrdinal(k.KeyId, after) > 0)
            .OrderBy(k => k.KeyId, StringComparer.Ordinal)
            .Take(pageSize + 1)
            .ToList();
        var page = keys.Take(pageSize).ToList();
        return TypedResults.Ok(new ListPage<ApiKeyInfo>(page, keys.Count > pageSize, page.LastOrDefault()?.KeyId));
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
