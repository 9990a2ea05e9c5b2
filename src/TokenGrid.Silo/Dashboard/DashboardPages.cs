using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// <c>/dashboard</c>: the capacity page for a signed-in planner or admin, <c>/dashboard/spend</c> the spend view for a
/// signed-in auditor or admin (an auditor's session opens nothing else), otherwise a sign-in form. The form posts the key once;
/// the silo answers with an HttpOnly, SameSite=Strict session cookie (cookie authentication, see <see cref="DashboardCookie"/>), so the key never
/// sits in the browser's storage or in a URL, and the Orleans Dashboard (plain page loads) is covered by the same sign-in.
/// </summary>
internal static class DashboardPages
{
    /// <summary>Where the spend view is.</summary>
    public const string SpendPath = "/dashboard/spend";

    private const string SecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IEndpointRouteBuilder MapDashboardPages(this IEndpointRouteBuilder app)
    {
        var dashboard = app.MapGroup("/dashboard").ExcludeFromDescription();

        // A sign-in or sign-out posted by a page of another origin is refused (login CSRF, forced sign-out).
        dashboard.AddEndpointFilter((context, next) => CrossOriginRequests.IsCrossOrigin(context.HttpContext.Request)
            ? throw new ApiProblemException(CrossOriginRequests.Refused())
            : next(context));
        dashboard.MapGet("/", PageAsync);
        dashboard.MapGet("/spend", SpendPageAsync);
        dashboard.MapPost("/login", SignInAsync);
        dashboard.MapPost("/logout", (Delegate)SignOutAsync);
        dashboard.MapGet("/assets/{file}", Asset);
        return app;
    }

    private static async Task<IResult> PageAsync(HttpContext http, DashboardAssets assets)
    {
        var session = await http.AuthenticateAsync(TokenGridAuth.PlannerScheme);
        if (session.Principal is not { } user || !session.Succeeded)
        {
            return SignInPage(http, assets, null);
        }

        if (user.IsInRole(TokenGridAuth.AdminRole) || user.IsInRole(TokenGridAuth.PlannerRole))
        {
            return Html(http, Page(assets, "index.html", "<!--spend-link-->",
                user.IsInRole(TokenGridAuth.AdminRole) ? "<a href=\"/dashboard/spend\">Spend</a>" : ""), HttpStatusCode.OK);
        }

        // An auditor's session: its view is the spend view.
        return See(http, SpendPath);
    }

    /// <summary>The spend view, for an auditor's or admin's session (or key); a planner's session goes back to its page.</summary>
    private static async Task<IResult> SpendPageAsync(HttpContext http, DashboardAssets assets)
    {
        var session = await http.AuthenticateAsync(TokenGridAuth.SpendViewScheme);
        if (session.Principal is not { } user || !session.Succeeded)
        {
            return SignInPage(http, assets, null);
        }

        var admin = user.IsInRole(TokenGridAuth.AdminRole);
        return admin || user.IsInRole(TokenGridAuth.AuditorRole)
            ? Html(http, Page(assets, "spend.html", "<!--capacity-link-->", admin ? "<a href=\"/dashboard\">Capacity</a>" : ""), HttpStatusCode.OK)
            : See(http, DashboardCookie.SignInPath);
    }

    private static string Page(DashboardAssets assets, string file, string placeholder, string replacement) =>
        Encoding.UTF8.GetString(assets.Get(file)!).Replace(placeholder, replacement, StringComparison.Ordinal);

    private static async Task<IResult> SignInAsync(HttpContext http, PlannerAuth auth, SignInLimiter limiter, DashboardAssets assets, IGrainFactory grains)
    {
        var client = http.Connection.RemoteIpAddress;
        if (!limiter.MayTry(client))
        {
            RateLimitHeaders.WriteRetryAfter(http.Response.Headers, SignInLimiter.Window);
            return SignInPage(http, assets, "Too many wrong keys from this address: try again in a minute.", HttpStatusCode.TooManyRequests);
        }

        var key = http.Request.HasFormContentType ? (await ReadFormAsync(http))["key"].ToString().Trim() : "";
        if (auth.SessionRoleOf(key) is not { } role)
        {
            if (key.Length > 0)
            {
                limiter.Failed(client);
            }

            return SignInPage(http, assets, key.Length == 0 ? "Enter the planner, auditor or admin key." : "That is not the planner, auditor or admin key.");
        }

        // A new session replaces the browser's current one, which ends (a copy of its cookie opens nothing afterwards).
        await EndCurrentSessionAsync(http, grains);
        var claims = auth.ClaimsOf(role).Append(new Claim(TokenGridAuth.SessionIdClaim, Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
        var session = new ClaimsIdentity(claims, TokenGridAuth.DashboardCookieScheme, ClaimTypes.Name, ClaimTypes.Role);
        await http.SignInAsync(TokenGridAuth.DashboardCookieScheme, new ClaimsPrincipal(session), new AuthenticationProperties { IsPersistent = true });
        return See(http, DashboardCookie.SignInPath);
    }

    /// <summary>
    /// The posted form; one the form readers cannot parse (a multipart body without its boundary, more fields than their
    /// limits) is a 400 problem, and one in a charset .NET cannot decode (UTF-7, disabled since .NET 5, for the form or a
    /// part of it) a 415 problem, not a server error.
    /// </summary>
    private static async Task<IFormCollection> ReadFormAsync(HttpContext http)
    {
        try
        {
            return await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (NotSupportedException)
        {
            // Thrown by Encoding.GetEncoding for a charset it knows but will not decode.
            throw new ApiProblemException(ApiProblems.UnsupportedMediaType("The sign-in form's charset is not supported: send it as UTF-8."));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException
            || (e is IOException and not BadHttpRequestException && !http.RequestAborted.IsCancellationRequested))
        {
            throw new ApiProblemException(ApiProblems.BadRequest($"The sign-in form could not be read: {e.Message}"));
        }
    }

    /// <summary>
    /// Ends the session on every silo (its id is recorded as signed out until it would have expired), not only in this
    /// browser: a copy of the cookie opens nothing afterwards.
    /// </summary>
    private static async Task<IResult> SignOutAsync(HttpContext http, IGrainFactory grains)
    {
        await EndCurrentSessionAsync(http, grains);
        await http.SignOutAsync(TokenGridAuth.DashboardCookieScheme);
        return See(http, DashboardCookie.SignInPath);
    }

    /// <summary>Records the request's session, if it has a valid one, as signed out on every silo.</summary>
    private static async Task EndCurrentSessionAsync(HttpContext http, IGrainFactory grains)
    {
        var current = await http.AuthenticateAsync(TokenGridAuth.DashboardCookieScheme);
        if (current is { Succeeded: true, Principal: { } principal, Properties.ExpiresUtc: { } expires }
            && principal.FindFirst(TokenGridAuth.SessionIdClaim)?.Value is { Length: > 0 } session)
        {
            await grains.GetGrain<IDashboardSessionsGrain>(0).RevokeAsync(session, expires);
        }
    }

    /// <summary>303 See Other to a page, so the browser follows a form post with a GET.</summary>
    private static IResult See(HttpContext http, string path)
    {
        http.Response.Headers.Location = path;
        return TypedResults.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static IResult Asset(string file, HttpContext http, DashboardAssets assets)
    {
        if (file.EndsWith(".html", StringComparison.Ordinal) || assets.Get(file) is not { } content)
        {
            return TypedResults.NotFound();
        }

        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.Bytes(content, DashboardAssets.ContentType(file));
    }

    /// <summary>The sign-in form; with a message after a wrong key (status 401, or <paramref name="status"/>).</summary>
    private static IResult SignInPage(HttpContext http, DashboardAssets assets, string? error, HttpStatusCode status = HttpStatusCode.Unauthorized)
    {
        var html = Encoding.UTF8.GetString(assets.Get("login.html")!)
            .Replace("<!--error-->", error is null ? "" : $"<p class=\"error\" role=\"alert\">{WebUtility.HtmlEncode(error)}</p>", StringComparison.Ordinal);
        return Html(http, html, error is null ? HttpStatusCode.OK : status);
    }

    private static IResult Html(HttpContext http, string html, HttpStatusCode status)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = SecurityPolicy;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        return TypedResults.Content(html, "text/html", Encoding.UTF8, (int)status);
    }
}
