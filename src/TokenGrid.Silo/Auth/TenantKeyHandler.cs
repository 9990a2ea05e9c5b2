using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The tenant scheme: the bearer key is hashed and resolved through its <see cref="IApiKeyGrain"/> by
/// <see cref="TenantKeyLookup"/> (a valid key is never cached, so a revoked key fails at once; a key that failed lately
/// on this silo is refused without another lookup). An authenticated tenant's claims are its tenant id, key id and the
/// tenant role; every reply to it then carries the <c>x-ratelimit-*</c> headers.
/// </summary>
internal sealed partial class TenantKeyHandler(
    IGrainFactory grains, TenantKeyLookup keys, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : BearerKeyHandler(options, logger, encoder)
{
    protected override async Task<IEnumerable<Claim>?> ClaimsOfAsync(string key)
    {
        if (await keys.ResolveAsync(key) is not { } resolved)
        {
            return null;
        }

        var tenant = new TenantContext(resolved.TenantId, resolved.KeyId);
        Context.SetTenant(tenant);
        Context.Response.OnStarting(() => WriteRateLimitsAsync(tenant));
        return
        [
            new Claim(ClaimTypes.Name, resolved.TenantId),
            new Claim(TokenGridAuth.TenantIdClaim, resolved.TenantId),
            new Claim(TokenGridAuth.KeyIdClaim, resolved.KeyId),
            new Claim(ClaimTypes.Role, TokenGridAuth.TenantRole),
        ];
    }

    private async Task WriteRateLimitsAsync(TenantContext tenant)
    {
        try
        {
            tenant.Limits ??= await grains.GetGrain<ITenantGrain>(tenant.TenantId).GetRateLimitsAsync();
            RateLimitHeaders.Write(Context.Response.Headers, tenant.Limits);
        }
        catch (Exception ex)
        {
            // The reply itself matters more than its headers (the tenant may have been removed meanwhile).
            LogLimitsUnavailable(Logger, ex, tenant.TenantId);
        }
    }
}
