using Orleans.Configuration;
using TokenGrid.Grains;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Storage;
using TokenGrid.Silo.Database;

namespace TokenGrid.Silo.Hosting;

/// <summary>Configures the embedded Orleans silo from <see cref="ClusterHostingOptions"/>.</summary>
internal static class SiloHosting
{
    /// <summary>Clustering, grain storage, this silo's nodes and the per-model dispatchers' options.</summary>
    public static ISiloBuilder AddTokenGridSilo(this ISiloBuilder silo, ClusterHostingOptions cluster)
    {
        var database = cluster.UsesDatabase ? silo.Configuration.GetValidated<DatabaseOptions>() : null;
        switch (cluster.Clustering)
        {
            case ClusteringKind.Localhost:
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
                break;
            case ClusteringKind.AdoNet:
                silo.AddPostgresClustering(cluster, database!);
                break;
            default:
                throw new InvalidOperationException($"Clustering '{cluster.Clustering}' is not supported.");
        }

        switch (cluster.Storage)
        {
            case StorageKind.Memory:
                // State in this process only (the local profile is one silo): a copy-on-write dictionary,
                // much cheaper per admission than Orleans' storage-grain based memory provider.
                silo.AddInProcessGrainStorage();
                break;
            case StorageKind.AdoNet:
                silo.AddPostgresStorage(database!);
                break;
            default:
                throw new InvalidOperationException($"Storage '{cluster.Storage}' is not supported.");
        }

        silo.Configure<SiloOptions>(options => options.SiloName = cluster.EffectiveSiloName);
        silo.AddTokenGridNodes();
        silo.AddTokenGridScheduling();
        return silo;
    }
}
