using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The admin scheme: the admin key (claims: role admin and the key's id, <see cref="KeyIds"/>). The auditor key is
/// recognised too (role auditor), so the admin policy refuses it as what it is, a valid key of a role the endpoint does
/// not open to: 403 <c>forbidden</c>, not 401. Tenant and planner keys fail like any wrong key (401).
/// </summary>
internal sealed class AdminKeyHandler(
    AdminKey adminKey, IOptions<AuditorAuthOptions> auditor, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : BearerKeyHandler(options, logger, encoder)
{
    private readonly byte[]? _auditorHash = AuditorKeyHandler.HashOf(auditor.Value);

    protected override ApiProblem InvalidKey => ApiProblems.InvalidKey() with { Detail = "The admin API key is invalid." };

    protected override Task<IEnumerable<Claim>?> ClaimsOfAsync(string key) => Task.FromResult(AuditorKeyHandler.ClaimsOf(adminKey, _auditorHash, key));
}
