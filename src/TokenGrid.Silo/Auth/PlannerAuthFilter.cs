using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Lets the planner key, the admin key or a dashboard session through to the capacity view (<c>/v1/capacity</c>, the
/// Orleans Dashboard). Anything else gets 401; a browser asking for a page is sent to the sign-in at <c>/dashboard</c>.
/// </summary>
internal sealed class PlannerAuthFilter(PlannerAuth auth) : IEndpointFilter
{
    /// <summary>Where the dashboard signs in.</summary>
    public const string SignInPath = "/dashboard";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (auth.Authenticate(http.Request) is not null)
        {
            return await next(context);
        }

        if (HttpMethods.IsGet(http.Request.Method) && BearerToken.Read(http.Request) is null
            && http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Redirect(SignInPath);
        }

        var problem = BearerToken.Read(http.Request) is null
            ? ApiProblems.MissingKey() with { Detail = "No API key was provided. Send the planner or admin key as 'Authorization: Bearer KEY', or sign in at /dashboard." }
            : ApiProblems.InvalidKey() with { Detail = "The key is not the planner or admin key." };
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiProblems.Result(problem);
    }
}

/// <summary>Puts route groups behind the planner credential.</summary>
internal static class PlannerAuthExtensions
{
    /// <summary>Requires the planner key, the admin key or a dashboard session on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequirePlanner(this RouteGroupBuilder group) => group.AddEndpointFilter<PlannerAuthFilter>();
}
