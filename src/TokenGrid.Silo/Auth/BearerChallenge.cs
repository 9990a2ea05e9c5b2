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
    /// 403 for an authenticated caller a policy refuses. No endpoint does today (each class has a scheme of its own),
    /// but a policy that ever does answers with a problem like every other error.
    /// </summary>
    public static Task ForbiddenAsync(HttpContext http) =>
        ApiProblems.Result(new ApiProblem(403, "Forbidden", "The credential may not use this endpoint.", "forbidden")).ExecuteAsync(http);
}
