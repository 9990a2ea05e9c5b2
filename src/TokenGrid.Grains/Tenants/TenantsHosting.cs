using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tenants;

/// <summary>Registers what the tenant, API key and directory grains need.</summary>
public static class TenantsHosting
{
    /// <summary>
    /// Adds the tenant services: an <see cref="ILedgerStore"/> (default: <see cref="InMemoryLedgerStore"/>), the system
    /// <see cref="TimeProvider"/> and <see cref="TokenGridInstruments"/>, each only when none is registered yet. The silo
    /// also needs a grain storage named <see cref="TokenGridStorage.Name"/>.
    /// </summary>
    public static IServiceCollection AddTokenGridTenants(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<ILedgerStore, InMemoryLedgerStore>();
        services.TryAddSingleton<IJobIndex, InMemoryJobIndex>();
        JobRecoveryOptions.Register(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<TokenGridInstruments>();
        return services;
    }
}
