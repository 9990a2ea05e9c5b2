using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Silo.Auth;

/// <summary>The authenticated tenant of a request, set by <see cref="TenantKeyHandler"/> (also as the claims of <c>HttpContext.User</c>).</summary>
/// <param name="TenantId">The caller's tenant.</param>
/// <param name="KeyId">The key it authenticated with.</param>
internal sealed record TenantContext(string TenantId, string KeyId)
{
    /// <summary>
    /// The rate-limit figures for this reply's <c>x-ratelimit-*</c> headers: the admission's on completions; when still
    /// null as the response starts, read from the tenant.
    /// </summary>
    public RateLimitSnapshot? Limits { get; set; }
}

/// <summary>Access to the request's <see cref="TenantContext"/>.</summary>
internal static class TenantContextExtensions
{
    private static readonly object Key = new();

    /// <summary>The authenticated tenant; only on endpoints behind the tenant policy.</summary>
    public static TenantContext Tenant(this HttpContext httpContext) =>
        httpContext.Items[Key] as TenantContext ?? throw new InvalidOperationException("The endpoint is not behind tenant authentication.");

    internal static void SetTenant(this HttpContext httpContext, TenantContext tenant) => httpContext.Items[Key] = tenant;
}
