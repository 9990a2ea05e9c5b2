using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using TokenGrid.Grains;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Options;
using TokenGrid.Storage.Postgres;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Database;

/// <summary>Orleans' ADO.NET providers and the token ledger on PostgreSQL, behind the startup wait and migrations.</summary>
internal static class DatabaseHosting
{
    /// <summary>Membership in PostgreSQL: silos with the same cluster id find each other through the table.</summary>
    public static ISiloBuilder AddPostgresClustering(this ISiloBuilder silo, ClusterHostingOptions cluster, DatabaseOptions database)
    {
        var connectionString = PostgresConnections.Named(database.RequireConnectionString(), PostgresConnections.OrleansApplicationName);
        silo.UseAdoNetClustering(options =>
        {
            options.Invariant = database.Invariant;
            options.ConnectionString = connectionString;
        });
        silo.Configure<ClusterOptions>(options =>
        {
            options.ClusterId = cluster.ClusterId;
            options.ServiceId = cluster.ServiceId;
        });
        if (cluster.AdvertisedAddress is { } address)
        {
            var ip = IPAddress.Parse(address);
            silo.ConfigureEndpoints(ip, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(ip));
        }
        else
        {
            silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        }

        if (cluster.GatewayPort == 0)
        {
            // No gateway (the default, see ClusterHostingOptions.GatewayPort): listening on every address would otherwise
            // bind one on port 0, that is, on any free port.
            silo.Configure<EndpointOptions>(options => options.GatewayListeningEndpoint = null);
        }

        return silo.AddDatabaseStartup();
    }

    /// <summary>
    /// Grain state (with Orleans' own serializer, which honours the contracts' <c>[Id]</c>s), reminders and the token
    /// ledger in PostgreSQL.
    /// </summary>
    public static ISiloBuilder AddPostgresStorage(this ISiloBuilder silo, DatabaseOptions database)
    {
        // Orleans' providers share one pool (one connection string), named apart from the stores' own pool.
        var connectionString = database.RequireConnectionString();
        var orleans = PostgresConnections.Named(connectionString, PostgresConnections.OrleansApplicationName);
        silo.AddPostgresGrainStorage(TokenGridStorage.Name, database.Invariant, orleans);
        silo.UseAdoNetReminderService(options =>
        {
            options.Invariant = database.Invariant;
            options.ConnectionString = orleans;
        });
        silo.Services.AddPostgresLedger(connectionString);
        silo.Services.UsePostgresDataProtectionKeys();

        // A database error thrown by a grain on one silo reaches its caller on another as itself, so the API can tell
        // "the database is unavailable" (503 with Retry-After) from a fault, rather than a missing-codec error.
        silo.Services.Configure<ExceptionSerializationOptions>(options => options.SupportedNamespacePrefixes.Add("Npgsql"));
        return silo.AddDatabaseStartup();
    }

    /// <summary>
    /// The wait for the database, the clock check and the migrations at startup, and the running clock check, once
    /// however many providers use it.
    /// </summary>
    private static ISiloBuilder AddDatabaseStartup(this ISiloBuilder silo)
    {
        var services = silo.Services;
        if (services.Any(s => s.ServiceType == typeof(DatabaseStartup)))
        {
            return silo;
        }

        services.AddValidatedOptions<DatabaseOptions>();
        services.TryAddSingleton(provider => new DatabaseWaiter(TimeProvider.System, provider.GetRequiredService<ILogger<DatabaseWaiter>>()));
        services.TryAddSingleton(provider => new MigrationRunner(provider.GetRequiredService<ILogger<MigrationRunner>>()));
        services.TryAddSingleton(provider => new DatabaseClock(
            TimeProvider.System, provider.GetRequiredService<IOptions<DatabaseOptions>>(), provider.GetRequiredService<ILogger<DatabaseClock>>(),
            provider.GetService<TokenGridInstruments>()));
        services.AddHostedService(provider => provider.GetRequiredService<DatabaseClock>());
        services.AddSingleton<DatabaseStartup>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(provider => provider.GetRequiredService<DatabaseStartup>());
        return silo;
    }
}
