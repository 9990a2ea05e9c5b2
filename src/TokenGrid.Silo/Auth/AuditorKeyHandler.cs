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
    private readonly byte[]? _auditorHash = string.IsNullOrEmpty(auditor.Value.ApiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(auditor.Value.ApiKey));

    protected override ApiProblem InvalidKey => ApiProblems.InvalidKey() with { Detail = "The key is not the auditor or admin key." };

    protected override Task<IEnumerable<Claim>?> ClaimsOfAsync(string key)
    {
        var (role, id) = adminKey.Matches(key) ? (TokenGridAuth.AdminRole, adminKey.Id)
            : _auditorHash is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(key)), _auditorHash)
                ? (TokenGridAuth.AuditorRole, KeyIds.Of(TokenGridAuth.AuditorRole, _auditorHash))
            : (null, null);
        return Task.FromResult<IEnumerable<Claim>?>(role is null
            ? null
            : [new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role), new Claim(TokenGridAuth.KeyIdClaim, id!)]);
    }
}
