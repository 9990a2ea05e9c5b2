using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// An API key sent as <c>Authorization: Bearer KEY</c>. No key is no result (the policy then challenges); a key the
/// scheme does not know fails. The challenge is 401 with <c>WWW-Authenticate: Bearer</c> and an OpenAI-shaped problem:
/// <c>missing_api_key</c> without a key, <c>invalid_api_key</c> with a wrong one.
/// </summary>
internal abstract class BearerKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The problem when no key was sent.</summary>
    protected virtual ApiProblem MissingKey => ApiProblems.MissingKey();

    /// <summary>The problem when the key is not one of this scheme's.</summary>
    protected virtual ApiProblem InvalidKey => ApiProblems.InvalidKey();

    /// <summary>The claims of <paramref name="key"/>, or null when this scheme does not accept it.</summary>
    protected abstract Task<IEnumerable<Claim>?> ClaimsOfAsync(string key);

    protected sealed override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerToken.Read(Request) is not { } key)
        {
            return AuthenticateResult.NoResult();
        }

        // The key itself never goes into a message: failures are logged by the framework.
        if (await ClaimsOfAsync(key) is not { } claims)
        {
            return AuthenticateResult.Fail("The key is not accepted by this scheme.");
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name, ClaimTypes.Name, ClaimTypes.Role));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected sealed override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        BearerChallenge.UnauthorizedAsync(Context, BearerToken.Read(Request) is null ? MissingKey : InvalidKey);

    protected sealed override Task HandleForbiddenAsync(AuthenticationProperties properties) => BearerChallenge.ForbiddenAsync(Context);
}
