using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Silo.Dashboard;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The dashboard's session cookie: ASP.NET Core cookie authentication, its ticket protected by Data Protection (whose
/// key ring every silo shares on the postgres profile). HttpOnly, SameSite=Strict, lasting
/// <see cref="PlannerAuthOptions.SessionLifetime"/> (not sliding), <c>Secure</c> over HTTPS or always with
/// <see cref="PlannerAuthOptions.SecureCookie"/>; a session whose key has changed since, or that was signed out (its id
/// is in <see cref="IDashboardSessionsGrain"/>, which every silo asks), is refused, and so is a state change sent from a
/// page of another origin (<see cref="CrossOriginRequests"/>).
/// Without a session a browser asking for a page is sent to the sign-in at <c>/dashboard</c>; anything else gets 401.
/// </summary>
internal sealed class DashboardCookie(PlannerAuth auth) : IConfigureNamedOptions<CookieAuthenticationOptions>
{
    /// <summary>Where the dashboard signs in.</summary>
    public const string SignInPath = "/dashboard";

    public void Configure(string? name, CookieAuthenticationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name != TokenGridAuth.DashboardCookieScheme)
        {
            return;
        }

        options.Cookie.Name = PlannerAuth.CookieName;
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.Cookie.SecurePolicy = auth.SecureCookie ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        options.Cookie.Path = "/";
        options.Cookie.MaxAge = auth.SessionLifetime;
        options.ExpireTimeSpan = auth.SessionLifetime;
        options.SlidingExpiration = false;
        options.LoginPath = SignInPath;
        options.Events = new CookieAuthenticationEvents
        {
            OnValidatePrincipal = async context =>
            {
                // A session without an id predates sign-out revocation: sign in again. A state change from a page of
                // another origin never rides on the session, whatever endpoint takes it.
                if (context.Principal is null || CrossOriginRequests.IsCrossOrigin(context.Request) || !auth.IsCurrent(context.Principal)
                    || context.Principal.FindFirst(TokenGridAuth.SessionIdClaim)?.Value is not { Length: > 0 } session
                    || await context.HttpContext.RequestServices.GetRequiredService<IGrainFactory>()
                        .GetGrain<IDashboardSessionsGrain>(0).IsRevokedAsync(session))
                {
                    context.RejectPrincipal();
                }
            },
            OnRedirectToLogin = context => ChallengeAsync(context.HttpContext),
            OnRedirectToAccessDenied = context => BearerChallenge.ForbiddenAsync(context.HttpContext),
        };
    }

    public void Configure(CookieAuthenticationOptions options) => Configure(Microsoft.Extensions.Options.Options.DefaultName, options);

    private static Task ChallengeAsync(HttpContext http)
    {
        if (HttpMethods.IsGet(http.Request.Method) && http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Redirect(SignInPath);
            return Task.CompletedTask;
        }

        return BearerChallenge.UnauthorizedAsync(http, ApiProblems.MissingKey() with
        {
            Detail = "No API key was provided. Send the planner or admin key as 'Authorization: Bearer KEY', or sign in at /dashboard.",
        });
    }
}
