using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Nodes;

/// <summary>Registers what node, registry and job grains need on a silo.</summary>
public static class NodesHosting
{
    /// <summary>
    /// Adds this silo's models and devices: binds <see cref="ModelCatalogOptions"/> (section
    /// <c>TokenGrid:Models</c>) and <see cref="NodeOptions"/> (section <c>TokenGrid:Nodes</c>), both validated at
    /// startup; registers the <see cref="ModelCatalog"/>, the <see cref="NodeRuntime"/> (devices start with the silo,
    /// preloading their models, and drain when it stops), <see cref="DevicePlacement"/>, the startup that activates the
    /// local node grains, and, when none is
    /// registered yet, the system <see cref="TimeProvider"/> and <see cref="TokenGridInstruments"/>. Job grains also need a grain storage
    /// named <see cref="TokenGridStorage.Name"/> and the tenant grains.
    /// </summary>
    public static ISiloBuilder AddTokenGridNodes(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var services = silo.Services;
        services.AddValidatedOptions<ModelCatalogOptions>()
            .PostConfigure(o =>
            {
                if (o.Entries.Count == 0)
                {
                    o.Entries.Add(new ModelEntry { Name = ModelCatalogOptions.DefaultModelName, Directory = ModelCatalogOptions.DemoDirectory });
                }
            });
        services.AddOptions<NodeOptions>()
            .BindConfiguration(NodeOptions.SectionName)
            .PostConfigure(o =>
            {
                if (o.Devices.Count == 0)
                {
                    o.Devices.Add(NodeOptions.DefaultDevice);
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>());

        JobRecoveryOptions.Register(services);
        JobLifetimeOptions.Register(services);
        Jobs.Retention.JobRetentionOptions.Register(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<TokenGridInstruments>();

        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<NodeRuntime>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeRuntime>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, NodeStartup>();
        services.AddPlacementDirector<DevicePlacement, DevicePlacementDirector>();
        return silo;
    }
}
