using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>The capacity view's bearer scheme: the planner key (role planner) or the admin key (role admin).</summary>
internal sealed class PlannerKeyHandler(PlannerAuth auth, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : BearerKeyHandler(options, logger, encoder)
{
    protected override ApiProblem InvalidKey => ApiProblems.InvalidKey() with { Detail = "The key is not the planner or admin key." };

    protected override Task<IEnumerable<Claim>?> ClaimsOfAsync(string key) =>
        Task.FromResult(auth.RoleOf(key) is { } role ? auth.ClaimsOf(role) : null);
}
