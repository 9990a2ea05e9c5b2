using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Metadata;
using TokenGrid.Grains;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Storage;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>Configures the embedded Orleans silo from <see cref="ClusterHostingOptions"/>.</summary>
internal static class SiloHosting
{
    /// <summary>
    /// Clustering with its failure detection, grain storage and reminders (in memory, or PostgreSQL), this silo's nodes and
    /// the per-model dispatchers' options.
    /// </summary>
    public static ISiloBuilder AddTokenGridSilo(this ISiloBuilder silo, ClusterHostingOptions cluster)
    {
        // First, so that a kubernetes profile outside a pod stops here, before anything else is configured.
        silo.AddTokenGridKubernetesHosting(cluster);
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
                silo.UseInMemoryReminderService();
                break;
            case StorageKind.AdoNet:
                silo.AddPostgresStorage(database!);
                break;
            default:
                throw new InvalidOperationException($"Storage '{cluster.Storage}' is not supported.");
        }

        silo.Configure<SiloOptions>(options => options.SiloName = cluster.EffectiveSiloName);
        silo.Configure<ClusterMembershipOptions>(cluster.Membership.ApplyTo);
        silo.AddTokenGridGrainDirectory(cluster);

        // The tenants' job recovery reminder ticks every RecoveryPeriod, below Orleans' default minimum of one minute.
        // Each silo also re-reads its share of the reminder table that often, so a reminder whose registration raced with
        // a silo's death is scheduled within a period rather than Orleans' default five minutes.
        silo.Services.AddOptions<ReminderOptions>().Configure<IOptions<JobRecoveryOptions>>((reminders, recovery) =>
        {
            var period = recovery.Value.RecoveryPeriod;
            reminders.MinimumReminderPeriod = TimeSpan.FromTicks(Math.Min(reminders.MinimumReminderPeriod.Ticks, period.Ticks));
            reminders.RefreshReminderListPeriod = TimeSpan.FromTicks(Math.Min(reminders.RefreshReminderListPeriod.Ticks, period.Ticks));
        });
        silo.AddTokenGridNodes();
        silo.AddTokenGridScheduling();
        return silo;
    }

    /// <summary>The grain directory <see cref="ClusterHostingOptions.GrainDirectory"/> names, and its location cache's bound.</summary>
    internal static ISiloBuilder AddTokenGridGrainDirectory(this ISiloBuilder silo, ClusterHostingOptions cluster)
    {
        silo.Configure<GrainDirectoryOptions>(options => options.CacheSize = cluster.DirectoryCacheSize);
        silo.Services.AddSingleton<IGrainPropertiesProvider>(new GrainDirectoryProperty(cluster));
        silo.Services.AddHostedService(services => ActivatorUtilities.CreateInstance<GrainDirectoryCheck>(services, cluster));
        if (cluster.GrainDirectory == GrainDirectoryKind.Distributed)
        {
            // Experimental by Orleans' label; see GrainDirectoryKind.Distributed for what it changes and why it is offered.
#pragma warning disable ORLEANSEXP003
            silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        }

        return silo;
    }
}
