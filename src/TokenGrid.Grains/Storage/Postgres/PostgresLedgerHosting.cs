using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Storage.Postgres;

/// <summary>Registers the PostgreSQL token ledger and job index.</summary>
public static class PostgresLedgerHosting
{
    /// <summary>The key of the <see cref="NpgsqlDataSource"/> the ledger and job index share.</summary>
    public const string DataSourceKey = "tokengrid-ledger";

    /// <summary>
    /// Uses <see cref="PostgresLedgerStore"/> and <see cref="PostgresJobIndex"/> on <paramref name="connectionString"/>
    /// instead of the in-memory ones, whether or not those were registered already. The schema comes from TokenGrid's
    /// migrations (<c>db migrate</c>).
    /// </summary>
    public static IServiceCollection AddPostgresLedger(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.AddKeyedSingleton(DataSourceKey, (provider, _) => new NpgsqlDataSourceBuilder(connectionString)
            .UseLoggerFactory(provider.GetService<ILoggerFactory>())
            .Build());
        services.RemoveAll<ILedgerStore>();
        services.RemoveAll<IJobIndex>();
        services.AddSingleton<ILedgerStore, PostgresLedgerStore>();
        services.AddSingleton<IJobIndex, PostgresJobIndex>();
        return services;
    }
}
