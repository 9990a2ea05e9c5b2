namespace TokenGrid.Silo.Problems;

/// <summary>Registers problem+json for every error the API answers with.</summary>
internal static class ProblemsHosting
{
    /// <summary>
    /// Adds problem details (each body also carries OpenAI's <c>error</c> object, derived from the status when the
    /// problem has none, as for a 404 of an unknown route), written as JSON whatever <c>Accept</c> says
    /// (<see cref="ProblemJsonWriter"/>), and the exception handler.
    /// </summary>
    public static IServiceCollection AddApiProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;

            // The reply's x-request-id (see RequestIds), once, under the documented name: with the framework's own
            // "traceId" left in, bodies carried the id twice, as trace_id and traceId.
            problem.Extensions.Remove("traceId");
            problem.Extensions["trace_id"] = Hosting.RequestIds.Of(context.HttpContext);
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;

            // ASP.NET Core knows no type for some statuses (429 among them); RFC 9457 says "about:blank" then.
            problem.Type ??= status == StatusCodes.Status429TooManyRequests ? "https://tools.ietf.org/html/rfc6585#section-4" : "about:blank";
            if (status == StatusCodes.Status415UnsupportedMediaType)
            {
                problem.Detail ??= "Send the body as JSON with 'Content-Type: application/json'.";
            }

            // A route that no endpoint maps (routing's own 404, not an API lookup's): say which, and what is served.
            if (status == StatusCodes.Status404NotFound && problem.Detail is null && context.HttpContext.GetEndpoint() is null)
            {
                var request = context.HttpContext.Request;
                problem.Detail = UnservedRoutes.Message(request.Method, (request.PathBase + request.Path).Value ?? "/");
            }

            // Routing's 405 has set Allow: name the methods the path takes.
            if (status == StatusCodes.Status405MethodNotAllowed && problem.Detail is null
                && context.HttpContext.Response.Headers.Allow.ToString() is { Length: > 0 } allowed)
            {
                var request = context.HttpContext.Request;
                problem.Detail = UnservedRoutes.MethodMessage(request.Method, (request.PathBase + request.Path).Value ?? "/", allowed);
            }

            if (!problem.Extensions.ContainsKey(ApiProblems.ErrorMember))
            {
                problem.Extensions[ApiProblems.ErrorMember] = new OpenAiError(
                    problem.Detail ?? problem.Title ?? "The request failed.", OpenAiErrorTypes.ForStatus(status), CodeFor(status), null);
            }
        });
        ProblemJsonWriter.Replace(services);
        services.AddExceptionHandler<ApiExceptionHandler>();
        return services;
    }

    private static string CodeFor(int status) => status switch
    {
        400 => "invalid_request",
        401 => "invalid_api_key",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "request_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limit_exceeded",
        _ => status >= 500 ? "internal_error" : "error",
    };
}
