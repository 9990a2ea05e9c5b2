using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// Refuses a state change a browser sends from a page of another origin: the dashboard's sign-in, its sign-out, and any
/// request its session cookie would authenticate. <c>SameSite=Strict</c> keeps the cookie off such a request but not a
/// <c>Set-Cookie</c> out of its reply, so without this a page elsewhere could sign a visitor in under a key of its
/// choosing (login CSRF) or sign them out.
/// </summary>
/// <remarks>
/// Hand-rolled because .NET 10 ships no such check; the algorithm is the one of ASP.NET Core 11's built-in CSRF middleware
/// and Go 1.25's <c>CrossOriginProtection</c>, to be replaced by the framework's on .NET 11. It reads the browser's Fetch
/// Metadata rather than a token (ASP.NET Core's antiforgery): the pages are static, the sign-in comes before any session a
/// token could be bound to, and an open form keeps working across a silo's restart (the local profile's keys are
/// ephemeral) or a reply from another silo.
/// </remarks>
internal static class CrossOriginRequests
{
    /// <summary>
    /// Whether <paramref name="request"/> is a state change (not GET, HEAD, OPTIONS or TRACE) a browser sent from another
    /// origin: <c>Sec-Fetch-Site</c> other than <c>same-origin</c> or <c>none</c> (a same-site page on another port or
    /// subdomain is another origin too); without it, an <c>Origin</c> whose host and port are not the request's (an
    /// opaque <c>null</c> included). A request with neither header is not a browser's (a script, curl) and passes: it
    /// carries no cookie it did not choose to.
    /// </summary>
    public static bool IsCrossOrigin(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var method = request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method))
        {
            return false;
        }

        if (request.Headers["Sec-Fetch-Site"].ToString() is { Length: > 0 } site)
        {
            return site is not ("same-origin" or "none");
        }

        return request.Headers.Origin.ToString() is { Length: > 0 } origin
            && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri)
                || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The 403 answer to a cross-origin state change.</summary>
    public static ApiProblem Refused() => new(403, "Cross-origin request refused",
        "The dashboard takes a sign-in, a sign-out or a change only from its own pages: this one came from a page of another origin.",
        "cross_origin_request");
}
