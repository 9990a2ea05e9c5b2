using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The auditor scheme: the auditor key (role auditor) or the admin key (role admin), each with its key id
/// (<see cref="KeyIds"/>); any other key fails.
/// </summary>
internal sealed class AuditorKeyHandler(
    AdminKey adminKey, IOptions<AuditorAuthOptions> auditor, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : BearerKeyHandler(options, logger, encoder)
{
    private readonly byte[]? _auditorHash = HashOf(auditor.Value);

    protected override ApiProblem InvalidKey => ApiProblems.InvalidKey() with { Detail = "The key is not the auditor or admin key." };

    protected override Task<IEnumerable<Claim>?> ClaimsOfAsync(string key) => Task.FromResult(ClaimsOf(adminKey, _auditorHash, key));

    /// <summary>The SHA-256 of the configured auditor key, or null when there is none.</summary>
    internal static byte[]? HashOf(AuditorAuthOptions auditor) =>
        string.IsNullOrEmpty(auditor.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(auditor.ApiKey));

    /// <summary>The claims of the admin key or the auditor key (its role and key id), or null for any other key.</summary>
    internal static IEnumerable<Claim>? ClaimsOf(AdminKey adminKey, byte[]? auditorHash, string key)
    {
        var (role, id) = adminKey.Matches(key) ? (TokenGridAuth.AdminRole, adminKey.Id)
            : auditorHash is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), auditorHash)
                ? (TokenGridAuth.AuditorRole, KeyIds.Of(TokenGridAuth.AuditorRole, auditorHash))
            : (null, null);
        return role is null ? null : [new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role), new Claim(TokenGridAuth.KeyIdClaim, id!)];
    }
}
