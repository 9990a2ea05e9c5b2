using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Describes the access classes in the OpenAPI document: the security schemes under <c>components</c>, and on each
/// operation the schemes its authorization policy accepts (the planner's: its key, or the dashboard's session cookie).
/// </summary>
internal sealed class SecuritySchemesTransformer : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    private static readonly Dictionary<string, OpenApiSecurityScheme> Schemes = new(StringComparer.Ordinal)
    {
        [TokenGridAuth.TenantScheme] = Bearer("A tenant's API key: the OpenAI-compatible API under /v1."),
        [TokenGridAuth.AdminScheme] = Bearer("The admin API key: the admin API under /admin, and the capacity view."),
        [TokenGridAuth.PlannerKeyScheme] = Bearer("The planner key (read-only) or the admin key: the capacity view."),
        [TokenGridAuth.AuditorScheme] = Bearer("The auditor key (read-only) or the admin key: the ledger, the rate card and the audit log."),
        [TokenGridAuth.DashboardCookieScheme] = new()
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Cookie,
            Name = PlannerAuth.CookieName,
            Description = "The dashboard's session cookie, set by signing in at /dashboard with the planner, auditor or admin key.",
        },
    };

    /// <summary>The schemes each policy accepts; each is a requirement of its own (any one suffices).</summary>
    private static readonly Dictionary<string, string[]> PolicySchemes = new(StringComparer.Ordinal)
    {
        [TokenGridAuth.TenantPolicy] = [TokenGridAuth.TenantScheme],
        [TokenGridAuth.AdminPolicy] = [TokenGridAuth.AdminScheme],
        [TokenGridAuth.AuditorPolicy] = [TokenGridAuth.AuditorScheme, TokenGridAuth.AdminScheme],
        [TokenGridAuth.PlannerPolicy] = [TokenGridAuth.PlannerKeyScheme, TokenGridAuth.AdminScheme, TokenGridAuth.DashboardCookieScheme],
        [TokenGridAuth.SpendViewPolicy] = [TokenGridAuth.AuditorScheme, TokenGridAuth.AdminScheme, TokenGridAuth.DashboardCookieScheme],
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        foreach (var (name, scheme) in Schemes)
        {
            document.Components.SecuritySchemes[name] = scheme;
        }

        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(context);
        var policies = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>()
            .Select(a => a.Policy).OfType<string>().Distinct(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            if (!PolicySchemes.TryGetValue(policy, out var names))
            {
                continue;
            }

            operation.Security ??= [];
            foreach (var name in names)
            {
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(name, context.Document)] = [] });
            }
        }

        return Task.CompletedTask;
    }

    private static OpenApiSecurityScheme Bearer(string description) => new()
    {
        Type = SecuritySchemeType.Http,
        Scheme = "bearer",
        Description = description + " Sent as 'Authorization: Bearer KEY'.",
    };
}
