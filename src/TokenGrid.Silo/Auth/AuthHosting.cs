using TokenGrid.Grains;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Options;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Authentication and authorization of the API: one scheme and one policy per access class (tenant, admin, planner),
/// with ASP.NET Core's handlers and middleware, and the Data Protection key ring behind the dashboard's session cookie.
/// </summary>
internal static class AuthHosting
{
    /// <summary>The Data Protection application name: every silo of a cluster must use the same one to share cookies.</summary>
    public const string DataProtectionApplication = "TokenGrid";

    /// <summary>
    /// Adds the schemes, the policies and Data Protection. With <paramref name="keysInDatabase"/> the key ring lives in
    /// PostgreSQL (<see cref="UsePostgresDataProtectionKeys"/> is called by the storage setup); otherwise it is
    /// ephemeral, in memory: one silo's sessions end when it restarts (the local profile is one silo).
    /// </summary>
    public static IServiceCollection AddTokenGridAuth(this IServiceCollection services, bool keysInDatabase)
    {
        services.AddValidatedOptions<AuditorAuthOptions>();

        // The role keys are checked against each other once, with the admin key's options, as the host starts.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdminOptions>, RoleKeys>());
        services.AddOptions<AdminOptions>().ValidateOnStart();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, TenantKeyHandler>(TokenGridAuth.TenantScheme, null)
            .AddScheme<AuthenticationSchemeOptions, AdminKeyHandler>(TokenGridAuth.AdminScheme, null)
            .AddScheme<AuthenticationSchemeOptions, PlannerKeyHandler>(TokenGridAuth.PlannerKeyScheme, null)
            .AddScheme<AuthenticationSchemeOptions, AuditorKeyHandler>(TokenGridAuth.AuditorScheme, null)
            .AddCookie(TokenGridAuth.DashboardCookieScheme)
            .AddPolicyScheme(TokenGridAuth.PlannerScheme, null, options => options.ForwardDefaultSelector =
                http => BearerToken.Read(http.Request) is null ? TokenGridAuth.DashboardCookieScheme : TokenGridAuth.PlannerKeyScheme)
            .AddPolicyScheme(TokenGridAuth.SpendViewScheme, null, options =>
            {
                options.ForwardDefaultSelector =
                    http => BearerToken.Read(http.Request) is null ? TokenGridAuth.DashboardCookieScheme : TokenGridAuth.AuditorScheme;

                // Without a key or a session the answer is the auditor API's 401, not the capacity view's.
                options.ForwardChallenge = TokenGridAuth.AuditorScheme;
            });
        services.AddSingleton<IConfigureOptions<CookieAuthenticationOptions>, DashboardCookie>();
        services.AddSingleton<TenantKeyLookup>();

        services.AddAuthorizationBuilder()
            .AddPolicy(TokenGridAuth.TenantPolicy, policy => policy.AddAuthenticationSchemes(TokenGridAuth.TenantScheme)
                .RequireRole(TokenGridAuth.TenantRole).RequireClaim(TokenGridAuth.TenantIdClaim))
            .AddPolicy(TokenGridAuth.AdminPolicy, policy => policy.AddAuthenticationSchemes(TokenGridAuth.AdminScheme)
                .RequireRole(TokenGridAuth.AdminRole))
            .AddPolicy(TokenGridAuth.AuditorPolicy, policy => policy.AddAuthenticationSchemes(TokenGridAuth.AuditorScheme)
                .RequireRole(TokenGridAuth.AuditorRole, TokenGridAuth.AdminRole))
            .AddPolicy(TokenGridAuth.SpendViewPolicy, policy => policy.AddAuthenticationSchemes(TokenGridAuth.SpendViewScheme)
                .RequireRole(TokenGridAuth.AuditorRole, TokenGridAuth.AdminRole))
            .AddPolicy(TokenGridAuth.PlannerPolicy, policy => policy.AddAuthenticationSchemes(TokenGridAuth.PlannerScheme)
                .RequireRole(TokenGridAuth.PlannerRole, TokenGridAuth.AdminRole));

        var dataProtection = services.AddDataProtection().SetApplicationName(DataProtectionApplication);
        if (!keysInDatabase)
        {
            dataProtection.UseEphemeralDataProtectionProvider();
        }

        return services;
    }

    /// <summary>Keeps the Data Protection key ring in PostgreSQL (migration 0008), shared by the cluster's silos.</summary>
    public static IServiceCollection UsePostgresDataProtectionKeys(this IServiceCollection services)
    {
        services.AddSingleton<PostgresDataProtectionKeyStore>();
        services.AddOptions<KeyManagementOptions>()
            .Configure<PostgresDataProtectionKeyStore>((options, store) => options.XmlRepository = new PostgresXmlRepository(store));
        return services;
    }

    /// <summary>Requires a tenant API key on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireTenant(this RouteGroupBuilder group) => group.RequireAuthorization(TokenGridAuth.TenantPolicy);

    /// <summary>Requires the admin API key on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group) => group.RequireAuthorization(TokenGridAuth.AdminPolicy);

    /// <summary>Requires the auditor key or the admin key on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireAuditor(this RouteGroupBuilder group) => group.RequireAuthorization(TokenGridAuth.AuditorPolicy);

    /// <summary>Requires the auditor key, the admin key, or a dashboard session of either, on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireSpendView(this RouteGroupBuilder group) => group.RequireAuthorization(TokenGridAuth.SpendViewPolicy);

    /// <summary>Requires the planner key, the admin key or a dashboard session on every endpoint of the group.</summary>
    public static TBuilder RequirePlanner<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(TokenGridAuth.PlannerPolicy);
}
