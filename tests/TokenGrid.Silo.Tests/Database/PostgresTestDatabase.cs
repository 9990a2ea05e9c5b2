using Npgsql;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A fresh PostgreSQL database for one test, created from <c>TOKENGRID_TEST_POSTGRES</c> (set by scripts/test.sh, which
/// installs and starts PostgreSQL) and dropped at the end. Tests that need PostgreSQL fail without it; they never skip.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable with a connection string for a role that may create databases.</summary>
    public const string Variable = "TOKENGRID_TEST_POSTGRES";

    private PostgresTestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name (<c>tg_test_…</c>).</summary>
    public string Name { get; }

    /// <summary>A connection string for the database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string from <see cref="Variable"/>.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set. Run ./scripts/test.sh (it installs and starts PostgreSQL), or set {Variable} to a " +
                "connection string for a role that may create databases.");

    /// <summary>A connection string for a database that does not exist yet (same server and role).</summary>
    public static string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = database }.ConnectionString;

    /// <summary>Creates an empty database, or one with TokenGrid's schema when <paramref name="migrate"/>.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync(bool migrate = true, string? name = null)
    {
        name ??= "tg_test_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteOnServerAsync($"CREATE DATABASE {name}");
        var database = new PostgresTestDatabase(name, ConnectionStringFor(name));
        if (migrate)
        {
            await new MigrationRunner().MigrateAsync(database.ConnectionString);
        }

        return database;
    }

    /// <summary>Runs a statement on the server's own database (for example CREATE DATABASE).</summary>
    public static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a statement in this database.</summary>
    public async Task<int> ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The rows of a query (its $1, $2, … from <paramref name="values"/>), each as an array of column values.</summary>
    public async Task<List<object[]>> QueryAsync(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object[]>();
        while (await reader.ReadAsync())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>The first column of the first row.</summary>
    public async Task<T> ScalarAsync<T>(string sql) => (T)(await QueryAsync(sql))[0][0];

    public async ValueTask DisposeAsync() => await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
}
