using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Auth;

/// <summary>Lets only the admin key through to <c>/admin</c>; tenant keys get 401 like any wrong key.</summary>
internal sealed class AdminAuthFilter(AdminKey adminKey) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var problem = BearerToken.Read(http.Request) switch
        {
            null => ApiProblems.MissingKey(),
            var secret when !adminKey.Matches(secret) => ApiProblems.InvalidKey() with { Detail = "The admin API key is invalid." },
            _ => null,
        };
        if (problem is not null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiProblems.Result(problem);
        }

        return await next(context);
    }
}

/// <summary>Puts route groups behind tenant or admin authentication.</summary>
internal static class AuthExtensions
{
    /// <summary>Requires a tenant API key on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireTenant(this RouteGroupBuilder group) => group.AddEndpointFilter<TenantAuthFilter>();

    /// <summary>Requires the admin API key on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group) => group.AddEndpointFilter<AdminAuthFilter>();
}
