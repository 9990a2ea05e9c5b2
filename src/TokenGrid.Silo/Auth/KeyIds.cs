using System.Security.Claims;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Stable, non-secret ids of the configured keys (admin, auditor), for the audit log's actor: the role, a colon and the
/// first 12 hex digits of the key's SHA-256 (<c>admin:1a2b3c4d5e6f</c>), so an operator can tell which key acted
/// (<c>printf %s "$KEY" | sha256sum | cut -c1-12</c>) and the key itself is never written. A tenant key's id is its own.
/// </summary>
internal static class KeyIds
{
    /// <summary>The id of the key of <paramref name="role"/> whose SHA-256 is <paramref name="keySha256"/>.</summary>
    public static string Of(string role, ReadOnlySpan<byte> keySha256) => role + ":" + Convert.ToHexStringLower(keySha256[..6]);

    /// <summary>The id of the key <paramref name="user"/> authenticated with (claim <see cref="TokenGridAuth.KeyIdClaim"/>), or null.</summary>
    public static string? Of(ClaimsPrincipal user) => user.FindFirstValue(TokenGridAuth.KeyIdClaim);
}
