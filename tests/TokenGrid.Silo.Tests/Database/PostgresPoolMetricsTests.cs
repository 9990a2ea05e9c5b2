using Npgsql;
using TokenGrid.Silo.Tests.Capacity;
using TokenGrid.Silo.Tests.Support;
using TokenGrid.Storage.Postgres;
using static TokenGrid.Silo.Tests.Support.RetentionSteps;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Npgsql's connection pool metrics on a postgres-profile silo's <c>/metrics</c>.</summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class PostgresPoolMetricsTests
{
    [Fact]
    public async Task Metrics_report_the_stores_pool_by_name_and_never_the_password()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await TokenGridServer.StartAsync(Settings(PostgresSilo.Settings(database.ConnectionString)));
        var (_, key) = await server.CreateTenantAsync();
        using var client = server.Client(key);
        await RunChatAsync(client);

        using var anonymous = server.Client(null);
        var text = await anonymous.GetStringAsync("metrics");
        static bool Stores(IReadOnlyDictionary<string, string> labels) =>
            labels.GetValueOrDefault("db_client_connection_pool_name") == PostgresLedgerHosting.DataSourceName;

        // The chat's admission, settlement and job index went through the stores' pool, which opened a connection for them.
        Assert.True(MetricsText.Sum(text, ["db_client_connection_count"], Stores) >= 1, "no open connection in the stores' pool");
        Assert.True(MetricsText.Sum(text, ["db_client_connection_npgsql_create_time_seconds_count"], Stores) >= 1, "no connection opened by the stores' pool");

        // Orleans' own pools are named by their connection strings, which Npgsql gives without the password.
        var password = new NpgsqlConnectionStringBuilder(database.ConnectionString).Password;
        Assert.False(string.IsNullOrEmpty(password));
        Assert.DoesNotContain(password, text, StringComparison.Ordinal);
    }
}
