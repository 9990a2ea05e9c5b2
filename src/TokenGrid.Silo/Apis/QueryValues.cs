using System.Globalization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Query parameters the API reads itself rather than through minimal API's binding, whose refusal of <c>limit=abc</c> is
/// an anonymous "Bad Request": a bad value is 400 <c>invalid_value</c> naming the parameter in <c>param</c> and saying
/// what it must be, as a NUL in a query value is. A parameter given twice is ambiguous (which one counts?), so refused
/// too, not joined. Minimal API no longer sees these parameters, so an endpoint names them for the OpenAPI document
/// with <see cref="Documents"/>.
/// </summary>
internal static class QueryValues
{
    /// <summary>
    /// Lists <paramref name="parameters"/> (name, whole number or not, description) as the operation's query parameters in
    /// <c>/openapi/v1.json</c>, and as the ones it takes (<see cref="AcceptsQuery"/>).
    /// </summary>
    public static RouteHandlerBuilder Documents(this RouteHandlerBuilder endpoint, params (string Name, bool Integer, string Description)[] parameters) =>
        endpoint.AcceptsQuery([.. parameters.Select(p => p.Name)]).AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            foreach (var (name, integer, description) in parameters)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = name,
                    In = ParameterLocation.Query,
                    Description = description,
                    Schema = new OpenApiSchema { Type = integer ? JsonSchemaType.Integer : JsonSchemaType.String },
                });
            }

            return Task.CompletedTask;
        });

    /// <summary>
    /// Names the query parameters the endpoint takes; <see cref="QueryNamesFilter"/> refuses any other. Minimal API binds
    /// a handler's parameters from the query without saying so anywhere a filter can read, hence the declaration.
    /// </summary>
    public static RouteHandlerBuilder AcceptsQuery(this RouteHandlerBuilder endpoint, params string[] names) =>
        endpoint.WithMetadata(new AcceptedQuery(names));

    /// <summary>
    /// Refuses any of <paramref name="names"/> given more than once, for parameters minimal API binds itself: it would
    /// join the values with a comma, and <c>?action=a&amp;action=b</c> would then quietly match nothing.
    /// </summary>
    public static void Once(HttpRequest request, params string[] names)
    {
        foreach (var name in names)
        {
            Single(request, name);
        }
    }

    /// <summary>The parameter's value; null when it is absent.</summary>
    public static string? Single(HttpRequest request, string name)
    {
        var values = request.Query[name];
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw new ApiProblemException(ApiProblems.BadRequest($"The query parameter '{name}' is given more than once.", "invalid_value", name)),
        };
    }

    /// <summary>The parameter as one whole number from <paramref name="min"/> to <paramref name="max"/>; null when it is absent.</summary>
    public static long? Integer(HttpRequest request, string name, long min, long max) => Single(request, name) switch
    {
        null => null,
        var text when long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max => value,
        _ => throw new ApiProblemException(ApiProblems.BadRequest(
            string.Create(CultureInfo.InvariantCulture, $"The query parameter '{name}' must be one whole number from {min} to {max}."), "invalid_value", name)),
    };
}

/// <summary>The query parameters an endpoint takes (see <see cref="QueryValues.AcceptsQuery"/>).</summary>
internal sealed record AcceptedQuery(IReadOnlyList<string> Names);

/// <summary>
/// Refuses a query parameter the endpoint does not take, as an unknown body field is refused: 400
/// <c>unrecognized_argument</c> naming it in <c>param</c>. A misspelt filter (<c>?actoin=</c>, <c>?tenant-tpm=</c>) or
/// one TokenGrid does not have (<c>GET /v1/jobs?status=running</c>) would otherwise quietly give the unfiltered answer
/// or the default. Names are matched regardless of case, as ASP.NET Core reads them.
/// </summary>
internal sealed class QueryNamesFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.Request.Query.Count > 0)
        {
            var names = http.GetEndpoint()?.Metadata.GetOrderedMetadata<AcceptedQuery>().SelectMany(q => q.Names).ToList() ?? [];
            foreach (var key in http.Request.Query.Keys)
            {
                if (!names.Contains(key, StringComparer.OrdinalIgnoreCase))
                {
                    var takes = names.Count == 0 ? "none" : string.Join(", ", names);
                    throw new ApiProblemException(ApiProblems.BadRequest(
                        $"Unrecognized query parameter: '{key}' (this endpoint takes {takes}).", "unrecognized_argument", key));
                }
            }
        }

        return next(context);
    }
}
