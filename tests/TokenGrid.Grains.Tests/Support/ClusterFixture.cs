using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// An in-process cluster of <paramref name="silos"/> silos with memory storage, which a subclass configures through
/// its hooks. Given <paramref name="modelCache"/>, demo models are built into a temporary cache deleted with the fixture;
/// a <see cref="DemoSpec"/> is built before the silos start, so they load one finished directory instead of racing to
/// build it.
/// </summary>
public abstract class ClusterFixture(short silos = 1, string? modelCache = null) : IAsyncLifetime
{
    private readonly TemporaryModelCache? _models = modelCache is null ? null : new(modelCache);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    /// <summary>The fixture's model cache.</summary>
    protected TemporaryModelCache Models => _models ?? throw new InvalidOperationException("This fixture has no model cache.");

    /// <summary>The demo model the silos' catalog serves as its default model; none unless overridden.</summary>
    protected virtual DemoModelSpec? DemoSpec => null;

    /// <summary>A service of the first silo.</summary>
    public T SiloService<T>(object? key = null) where T : notnull
    {
        var services = Cluster.Silos[0].ServiceProvider;
        return key is null ? services.GetRequiredService<T>() : services.GetRequiredKeyedService<T>(key);
    }

    /// <summary>Runs before the cluster is built (e.g. to build models).</summary>
    protected virtual void BeforeDeploy()
    {
    }

    /// <summary>Configures each silo, after memory storage and before the demo model.</summary>
    protected virtual void ConfigureSilo(ISiloBuilder silo)
    {
    }

    /// <summary>Registers services on each silo's host.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        var demo = DemoSpec;
        if (demo is not null)
        {
            Models.Build(demo);
        }

        BeforeDeploy();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(TokenGridStorage.Name);
            ConfigureSilo(silo);

            // After the hooks (as the fixtures had it), so the demo model wins over what they bind from configuration.
            if (demo is not null)
            {
                silo.Services.Configure<ModelCatalogOptions>(o =>
                {
                    o.DemoSpec = demo;
                    o.DemoCacheRoot = Models.Root;
                });
            }
        });
        builder.ConfigureSiloHost((_, host) => ConfigureServices(host.Services));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        _models?.Dispose();
    }
}
