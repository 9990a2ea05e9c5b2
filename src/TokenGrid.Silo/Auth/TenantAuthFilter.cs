using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Authenticates tenants: the bearer key is hashed and resolved through its <see cref="IApiKeyGrain"/> on every
/// request (nothing is cached, so a revoked key fails at once). Every reply to an authenticated tenant then carries
/// the <c>x-ratelimit-*</c> headers.
/// </summary>
internal sealed partial class TenantAuthFilter(IGrainFactory grains, ILogger<TenantAuthFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (BearerToken.Read(http.Request) is not { } secret)
        {
            return Challenge(http, ApiProblems.MissingKey());
        }

        var key = await grains.GetGrain<IApiKeyGrain>(ApiKeyHash.Hash(secret)).ResolveAsync();
        if (key is null)
        {
            return Challenge(http, ApiProblems.InvalidKey());
        }

        var tenant = new TenantContext(key.TenantId, key.KeyId);
        http.SetTenant(tenant);
        http.Response.OnStarting(() => WriteRateLimitsAsync(http, tenant));
        return await next(context);
    }

    private static ProblemHttpResult Challenge(HttpContext http, ApiProblem problem)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiProblems.Result(problem);
    }

    private async Task WriteRateLimitsAsync(HttpContext http, TenantContext tenant)
    {
        try
        {
            tenant.Limits ??= await grains.GetGrain<ITenantGrain>(tenant.TenantId).GetRateLimitsAsync();
            RateLimitHeaders.Write(http.Response.Headers, tenant.Limits);
        }
        catch (Exception ex)
        {
            // The reply itself matters more than its headers (the tenant may have been removed meanwhile).
            LogLimitsUnavailable(logger, ex, tenant.TenantId);
        }
    }
}
