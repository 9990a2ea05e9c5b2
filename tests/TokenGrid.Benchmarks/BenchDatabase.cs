using Npgsql;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Benchmarks;

/// <summary>
/// A fresh PostgreSQL database for one benchmark, on the server of <c>--postgres CONNECTION-STRING</c> or
/// <c>TOKENGRID_TEST_POSTGRES</c> (a role that may create databases), dropped at the end.
/// </summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string _server;

    private BenchDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>A connection string for it.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string: <paramref name="given"/> (<c>--postgres</c>), else the environment's, else null.</summary>
    public static string? ServerFrom(string? given) =>
        given ?? Environment.GetEnvironmentVariable("TOKENGRID_TEST_POSTGRES");

    /// <summary>The server <paramref name="what"/> needs: <paramref name="given"/> or the environment's, else a usage error.</summary>
    public static string RequireServer(string? given, string what) =>
        ServerFrom(given) ?? throw new BenchmarkUsageException($"{what} needs PostgreSQL: give --postgres CONNECTION-STRING or set TOKENGRID_TEST_POSTGRES.");

    /// <summary>Creates the database; with <paramref name="migrate"/>, also TokenGrid's schema.</summary>
    public static async Task<BenchDatabase> CreateAsync(string server, bool migrate)
    {
        var database = new BenchDatabase(server, "tg_bench_" + Guid.NewGuid().ToString("N")[..12]);
        await ExecuteAsync(server, $"CREATE DATABASE {database.Name}");
        if (migrate)
        {
            await new MigrationRunner().MigrateAsync(database.ConnectionString);
        }

        return database;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
