namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// The browser-facing headers of everything under <c>/dashboard</c>, the Orleans Dashboard's pages and calls included
/// (they come from its package, which sets none of them): no framing by any page (<c>X-Frame-Options</c> and CSP
/// <c>frame-ancestors</c>), no sniffing, no referrer to other origins, not stored by any cache unless the reply says
/// otherwise, and the Orleans Dashboard's own Content-Security-Policy where a reply has none. Also <c>no-store</c> on the
/// JSON the pages poll, which carries tenants' figures.
/// </summary>
internal static class DashboardHeaders
{
    /// <summary>
    /// What the Orleans Dashboard's page loads, checked in Chromium on each of its views: its script, styles and fonts
    /// from itself, images and fonts also as data URLs. Inline styles are allowed because its markup and components carry
    /// style attributes; scripts stay <c>'self'</c>, which is what keeps an injected string from running.
    /// </summary>
    public const string OrleansDashboardPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>
    /// <c>same-origin</c> rather than <c>no-referrer</c>: under <c>no-referrer</c> a browser sends <c>Origin: null</c> on
    /// the pages' own form posts, which the cross-origin check (<see cref="CrossOriginRequests"/>) must then refuse.
    /// </summary>
    public const string ReferrerPolicy = "same-origin";

    /// <summary>Adds the headers to every reply under <c>/dashboard</c> (a header the endpoint set stays as set).</summary>
    public static IApplicationBuilder UseDashboardHeaders(this IApplicationBuilder app) => app.Use(next => http =>
    {
        if (http.Request.Path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                headers.XFrameOptions = "DENY";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = ReferrerPolicy;
                if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
                {
                    headers.ContentSecurityPolicy = OrleansDashboardPolicy;
                }

                if (string.IsNullOrEmpty(headers.CacheControl))
                {
                    headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            });
        }

        return next(http);
    });

    /// <summary>Marks the endpoints' replies <c>Cache-Control: no-store</c>: live figures about tenants, for a session or a key.</summary>
    public static TBuilder NoStore<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.AddEndpointFilter((context, next) =>
        {
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return next(context);
        });
}
