using System.Diagnostics;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Gives every reply an <c>x-request-id</c> header, which the OpenAI SDKs read into their <c>request_id</c> (and an
/// error's) for a client to quote: the request's W3C trace context id (<c>Activity.Id</c>, else the connection's request
/// identifier), the same id a problem body carries as <c>trace_id</c>, so a reply with or without a body names the same
/// request, and a trace of it can be found by it.
/// </summary>
internal static class RequestIds
{
    /// <summary>The response header.</summary>
    public const string Header = "x-request-id";

    private static readonly object s_key = new();

    /// <summary>The request's id, as its reply's header gives it.</summary>
    public static string Of(HttpContext http) =>
        http.Items.TryGetValue(s_key, out var id) && id is string value ? value : Activity.Current?.Id ?? http.TraceIdentifier;

    /// <summary>Adds the header to the pipeline; first, so that the exception handler's replies carry it too.</summary>
    public static IApplicationBuilder UseRequestIds(this IApplicationBuilder app) => app.Use(next => http =>
    {
        var id = Activity.Current?.Id ?? http.TraceIdentifier;
        http.Items[s_key] = id;
        // Set when the reply starts: the exception handler clears the headers of a reply it replaces, not this callback.
        http.Response.OnStarting(static state =>
        {
            var (response, value) = ((HttpResponse, string))state;
            response.Headers[Header] = value;
            return Task.CompletedTask;
        }, (http.Response, id));
        return next(http);
    });
}
