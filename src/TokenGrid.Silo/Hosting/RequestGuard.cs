using Microsoft.Net.Http.Headers;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Refuses what is ambiguous or unstorable before any endpoint sees it, with a 400 problem: a single-valued header given
/// twice (two <c>Authorization</c> or <c>Content-Type</c> lines: a proxy may read the first, we would join them), and a
/// NUL in a query value (PostgreSQL text cannot hold it, and no parameter of the API means it). The body is read through
/// <see cref="RequestBodyStream"/>, so broken framing is a 400 too.
/// </summary>
/// <remarks>
/// Kestrel refuses the rest before the application runs, with a bare 400 and no body: two <c>Content-Length</c> headers,
/// a NUL or control character in a header or the path, and malformed framing; and headers over its limits with 431.
/// </remarks>
internal static class RequestGuard
{
    private static readonly string[] SingleValued =
        [HeaderNames.Authorization, HeaderNames.ContentType, HeaderNames.ContentLength, "Last-Event-ID"];

    /// <summary>Adds the checks to the pipeline; after the exception handler, which writes their problems.</summary>
    public static IApplicationBuilder UseRequestGuard(this IApplicationBuilder app) => app.Use(next => http =>
    {
        Check(http.Request);
        if (http.Request.ContentLength is not 0)
        {
            http.Request.Body = new RequestBodyStream(http.Request.Body);
        }

        return next(http);
    });

    private static void Check(HttpRequest request)
    {
        foreach (var name in SingleValued)
        {
            if (request.Headers.TryGetValue(name, out var values) && values.Count > 1)
            {
                throw new ApiProblemException(ApiProblems.InvalidHeader(
                    $"The header '{name}' was sent {values.Count} times; send it once.", name));
            }
        }

        if (request.QueryString.HasValue && request.QueryString.Value!.Contains("%00", StringComparison.Ordinal))
        {
            foreach (var (name, values) in request.Query)
            {
                if (name.Contains('\0', StringComparison.Ordinal) || values.Any(v => v?.Contains('\0', StringComparison.Ordinal) == true))
                {
                    throw new ApiProblemException(ApiProblems.BadRequest(
                        $"The query parameter '{name.Replace("\0", "\\u0000", StringComparison.Ordinal)}' holds a NUL character (%00).",
                        "invalid_value", name.Replace("\0", "\\u0000", StringComparison.Ordinal)));
                }
            }
        }
    }
}
