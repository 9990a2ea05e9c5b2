using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Grains.JobIndex;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Ledger;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Storage.Postgres;

/// <summary>Registers the PostgreSQL tenant store, token ledger, job index, job content expiries, audit log and statements.</summary>
public static class PostgresLedgerHosting
{
    /// <summary>The key of the <see cref="NpgsqlDataSource"/> the tenant store, ledger and job index share.</summary>
    public const string DataSourceKey = "tokengrid-ledger";

    /// <summary>
    /// Uses <see cref="PostgresTenantStore"/>, <see cref="PostgresLedgerStore"/>, <see cref="PostgresJobIndex"/>,
    /// <see cref="PostgresJobContentExpiryStore"/> and <see cref="PostgresAuditLog"/> on
    /// <paramref name="connectionString"/> instead of the in-memory ones, whether or not those were registered already.
    /// The schema comes from TokenGrid's migrations (<c>db migrate</c>). Statements this process runs repeatedly are
    /// prepared on each connection (unless the connection string sets its own <c>Max Auto Prepare</c>), and connections
    /// go back to the pool without a reset: these stores never change session state.
    /// </summary>
    public static IServiceCollection AddPostgresLedger(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.AddKeyedSingleton(DataSourceKey, (provider, _) =>
        {
            var builder = new NpgsqlDataSourceBuilder(PostgresConnections.Named(connectionString, PostgresConnections.StoresApplicationName))
                .UseLoggerFactory(provider.GetService<ILoggerFactory>());
            var settings = builder.ConnectionStringBuilder;
            if (settings.MaxAutoPrepare == 0)
            {
                settings.MaxAutoPrepare = 16;
            }

            // Nothing here changes session state, so a connection going back to the pool needs no reset round trip.
            settings.NoResetOnClose = true;

            return builder.Build();
        });
        services.RemoveAll<ITenantStore>();
        services.RemoveAll<ILedgerStore>();
        services.RemoveAll<IJobIndex>();
        services.RemoveAll<IJobContentExpiryStore>();
        services.RemoveAll<IStatementStore>();
        services.RemoveAll<IAuditLog>();
        services.AddSingleton<ITenantStore, PostgresTenantStore>();
        services.AddSingleton<ILedgerStore, PostgresLedgerStore>();
        services.AddSingleton<IJobIndex, PostgresJobIndex>();
        services.AddSingleton<IJobContentExpiryStore, PostgresJobContentExpiryStore>();
        services.AddSingleton<IStatementStore, PostgresStatementStore>();
        services.AddSingleton<IAuditLog, PostgresAuditLog>();
        return services;
    }
}
