using Npgsql;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;
using TokenGrid.Storage.Postgres;
using static TokenGrid.Silo.Tests.Support.RetentionSteps;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Npgsql's pool metrics on a postgres-profile silo's <c>/metrics</c>, and its connections' names in PostgreSQL.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresPoolMetricsTests
{
    [Fact]
    public async Task Metrics_count_connections_opened_without_naming_the_database_and_postgres_names_each_pool()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await TokenGridServer.StartAsync(Settings(PostgresSilo.Settings(database.ConnectionString)));
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        await RunChatAsync(client);

        using var anonymous = server.Client(null);
        var text = await anonymous.GetStringAsync("metrics");

        // The chat's admission, settlement and job state went through pools, which opened connections and ran commands.
        Assert.True(MetricsText.Sum(text, ["db_client_connection_npgsql_create_time_seconds_count"]) >= 1, "no connection opening counted");
        Assert.True(MetricsText.Sum(text, ["db_client_operation_duration_seconds_count"]) >= 1, "no command counted");

        // Per-pool gauges would show one pool's value for all without the pool's name: not exported.
        Assert.Empty(MetricsText.Samples(text, "db_client_connection_count"));

        // /metrics is served without a key: no pool is named by its connection string, and no server address is given.
        var settings = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        Assert.False(string.IsNullOrEmpty(settings.Password));
        Assert.DoesNotContain(settings.Password, text, StringComparison.Ordinal);
        Assert.DoesNotContain(settings.Database!, text, StringComparison.Ordinal);
        var npgsql = text.Split('\n').Where(line => line.StartsWith("db_client_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(npgsql);
        Assert.All(npgsql, line => Assert.DoesNotContain("pool_name", line, StringComparison.Ordinal));
        Assert.All(npgsql, line => Assert.DoesNotContain("server_address", line, StringComparison.Ordinal));

        // PostgreSQL tells the silo's pools apart by their application names.
        var names = await database.ScalarAsync<string[]>(
            "SELECT coalesce(array_agg(DISTINCT application_name), '{}') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        Assert.Contains(PostgresConnections.StoresApplicationName, names);
        Assert.Contains(PostgresConnections.OrleansApplicationName, names);
    }
}
