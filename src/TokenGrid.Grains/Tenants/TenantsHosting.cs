using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TokenGrid.Grains.JobIndex;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Ledger;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>Registers what the tenant, API key and directory grains need.</summary>
public static class TenantsHosting
{
    /// <summary>
    /// Adds the tenant services: an <see cref="ITenantStore"/>, <see cref="ILedgerStore"/> and <see cref="IJobIndex"/>
    /// (default: the in-memory ones, which share their data), the system <see cref="TimeProvider"/> and
    /// <see cref="TokenGridInstruments"/>, each only when none is registered yet. The silo also needs a grain storage
    /// named <see cref="TokenGridStorage.Name"/> for API keys and the tenant directory.
    /// </summary>
    public static IServiceCollection AddTokenGridTenants(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<InMemoryLedgerStore>();
        services.TryAddSingleton<InMemoryJobIndex>();
        services.TryAddSingleton<ILedgerStore>(provider => provider.GetRequiredService<InMemoryLedgerStore>());
        services.TryAddSingleton<IJobIndex>(provider => provider.GetRequiredService<InMemoryJobIndex>());
        services.TryAddSingleton<ITenantStore, InMemoryTenantStore>();
        JobRecoveryOptions.Register(services);
        JobLifetimeOptions.Register(services);
        Jobs.Retention.JobRetentionOptions.Register(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<TokenGridInstruments>();
        return services;
    }
}
