using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// The wrapper around Orleans' ADO.NET grain storage drops pooled connections when PostgreSQL fails a grain's read,
/// write or clear, and hands the error on unchanged: grains no longer do it themselves.
/// </summary>
public sealed class PostgresGrainStorageTests
{
    [Theory]
    [InlineData("read")]
    [InlineData("write")]
    [InlineData("clear")]
    public async Task A_failure_drops_the_pooled_connections_and_reaches_the_grain(string operation)
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var pooled = await BackendAsync(database.ConnectionString);

        var storage = new PostgresGrainStorage(new FailingStorage(database.ConnectionString));
        var state = new GrainState<int>();
        var grain = GrainId.Create("job", "j-1");
        var error = await Assert.ThrowsAsync<PostgresException>(() => operation switch
        {
            "read" => storage.ReadStateAsync("job", grain, state),
            "write" => storage.WriteStateAsync("job", grain, state),
            _ => storage.ClearStateAsync("job", grain, state),
        });

        Assert.Equal(PostgresErrorCodes.UndefinedFunction, error.SqlState);
        Assert.NotEqual(pooled, await BackendAsync(database.ConnectionString));
    }

    /// <summary>The server process behind the pooled connection the connection string opens.</summary>
    private static async Task<int> BackendAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection.ProcessID;
    }

    /// <summary>Storage whose every call fails in PostgreSQL, as Orleans' ADO.NET storage does when a statement fails.</summary>
    private sealed class FailingStorage(string connectionString) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        private async Task FailAsync()
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT no_such_function()", connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
