using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Dashboard;
using TokenGrid.Grains.Capacity;
using TokenGrid.Silo.Apis;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Dashboard;

/// <summary>The planners' view: the capacity API, the <c>/dashboard</c> page and the Orleans Dashboard, behind one credential.</summary>
internal static class DashboardHosting
{
    /// <summary>Where the Orleans Dashboard (the grain-level view) is mounted.</summary>
    public const string OrleansDashboardPath = "/dashboard/orleans";

    /// <summary>
    /// Adds the planner credential (<see cref="PlannerAuthOptions"/>), the capacity view's sampling and latency recording
    /// (<see cref="CapacityHosting"/>), the page's files and the Orleans Dashboard's silo services.
    /// </summary>
    public static WebApplicationBuilder AddTokenGridDashboard(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<PlannerAuthOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PlannerAuth>();
        services.AddSingleton<DashboardAssets>();
        services.AddSingleton<SignInLimiter>();
        services.AddTokenGridCapacity();

        // The Orleans Dashboard's log stream would show every silo's log lines to planners: hidden.
        builder.UseOrleans(silo => silo.AddDashboard(options => options.HideTrace = true));
        return builder;
    }

    /// <summary>Maps <c>GET /v1/capacity</c>, <c>/dashboard</c> with its sign-in, and the Orleans Dashboard.</summary>
    public static WebApplication MapTokenGridDashboard(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGroup("/v1/capacity").RequirePlanner().AddEndpointFilter<QueryNamesFilter>().NoStore().MapCapacityApi();
        app.MapDashboardPages();
        app.MapOrleansDashboard(OrleansDashboardPath).RequirePlanner().AddEndpointFilter<OrleansDashboardFilter>().ExcludeFromDescription();
        return app;
    }
}
