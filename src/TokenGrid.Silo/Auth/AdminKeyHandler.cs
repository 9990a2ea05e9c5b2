using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The admin scheme: only the admin key (claims: role admin and the key's id, <see cref="KeyIds"/>); tenant and planner
/// keys fail like any wrong key.
/// </summary>
internal sealed class AdminKeyHandler(AdminKey adminKey, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : BearerKeyHandler(options, logger, encoder)
{
    protected override ApiProblem InvalidKey => ApiProblems.InvalidKey() with { Detail = "The admin API key is invalid." };

    protected override Task<IEnumerable<Claim>?> ClaimsOfAsync(string key) => Task.FromResult<IEnumerable<Claim>?>(
        adminKey.Matches(key)
            ? [new Claim(ClaimTypes.Name, TokenGridAuth.AdminRole), new Claim(ClaimTypes.Role, TokenGridAuth.AdminRole), new Claim(TokenGridAuth.KeyIdClaim, adminKey.Id)]
            : null);
}
