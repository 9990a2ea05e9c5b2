using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>The answers of the bearer schemes when a credential is missing or wrong: OpenAI-shaped problems.</summary>
internal static class BearerChallenge
{
    /// <summary>401 with <c>WWW-Authenticate: Bearer</c> and the problem.</summary>
    public static Task UnauthorizedAsync(HttpContext http, ApiProblem problem)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiProblems.Result(problem).ExecuteAsync(http);
    }

    /// <summary>
    /// 403 for an authenticated caller a policy refuses: the auditor key on an admin-only endpoint (a change), a dashboard
    /// session of the auditor key on the capacity view.
    /// </summary>
    public static Task ForbiddenAsync(HttpContext http) =>
        ApiProblems.Result(new ApiProblem(403, "Forbidden", "The credential is valid, but its role may not use this endpoint.", "forbidden")).ExecuteAsync(http);
}
