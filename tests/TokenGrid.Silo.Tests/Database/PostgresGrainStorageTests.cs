using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;
using TokenGrid.Storage.Postgres;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// The wrapper around Orleans' ADO.NET grain storage drops pooled connections when PostgreSQL went away under a grain's
/// read, write or clear, keeps them when a statement merely failed, and hands the error on unchanged either way.
/// </summary>
/// <remarks>
/// Alone (<see cref="ConnectionPoolCollection"/>): what it checks is which connections the process's pools hold, and a test
/// running beside it that loses a connection clears every pool (PostgresConnections.ForgetBroken). That once handed the
/// lost-connection test a new connection instead of its dead one, and its statement did not fail.
/// </remarks>
[Collection(ConnectionPoolCollection.Name)]
public sealed class PostgresGrainStorageTests
{
    [Theory]
    [InlineData("read")]
    [InlineData("write")]
    [InlineData("clear")]
    public async Task A_lost_connection_drops_the_pooled_connections_and_reaches_the_grain(string operation)
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);

        // Two pooled connections, both ended by the server, as a restart ends them.
        var pooled = await PooledBackendsAsync(database.ConnectionString, 2);
        await TerminateAsync(database.ConnectionString, pooled);

        var storage = new PostgresGrainStorage(new FailingStorage(database.ConnectionString, "SELECT 1"));
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => RunAsync(storage, operation));
        Assert.True(PostgresConnections.IsConnectionLost(error), error.ToString());

        // The other dead connection is gone from the pool too: the next statement runs on a new one.
        Assert.DoesNotContain(await BackendAsync(database.ConnectionString), pooled);
    }

    [Theory]
    [InlineData("read")]
    [InlineData("write")]
    [InlineData("clear")]
    public async Task A_failed_statement_keeps_the_pooled_connections_and_reaches_the_grain(string operation)
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var pooled = await BackendAsync(database.ConnectionString);

        var storage = new PostgresGrainStorage(new FailingStorage(database.ConnectionString, "SELECT no_such_function()"));
        var error = await Assert.ThrowsAsync<PostgresException>(() => RunAsync(storage, operation));

        Assert.Equal(PostgresErrorCodes.UndefinedFunction, error.SqlState);
        Assert.Equal(pooled, await BackendAsync(database.ConnectionString));
    }

    [Fact]
    public void Timeouts_and_statement_errors_are_not_lost_connections_and_shutdowns_and_broken_sockets_are()
    {
        Assert.False(PostgresConnections.IsConnectionLost(new NpgsqlException("Exception while reading from stream", new TimeoutException())));
        Assert.False(PostgresConnections.IsConnectionLost(new InvalidOperationException("wrapped", new PostgresException("m", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation))));
        Assert.True(PostgresConnections.IsConnectionLost(new InvalidOperationException("wrapped", new PostgresException("m", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown))));
        Assert.True(PostgresConnections.IsConnectionLost(new PostgresException("m", "FATAL", "FATAL", PostgresErrorCodes.ConnectionFailure)));
        Assert.True(PostgresConnections.IsConnectionLost(new NpgsqlException("Exception while writing to stream", new IOException("Broken pipe"))));
    }

    private static Task RunAsync(PostgresGrainStorage storage, string operation)
    {
        var state = new GrainState<int>();
        var grain = GrainId.Create("job", "j-1");
        return operation switch
        {
            "read" => storage.ReadStateAsync("job", grain, state),
            "write" => storage.WriteStateAsync("job", grain, state),
            _ => storage.ClearStateAsync("job", grain, state),
        };
    }

    /// <summary>The server process behind the pooled connection the connection string opens.</summary>
    private static async Task<int> BackendAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Opens <paramref name="count"/> connections at once and returns them to the pool: their server processes.</summary>
    private static async Task<int[]> PooledBackendsAsync(string connectionString, int count)
    {
        var connections = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var connection = new NpgsqlConnection(connectionString);
                connections.Add(connection);
                await connection.OpenAsync();
            }

            return [.. connections.Select(c => c.ProcessID)];
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Ends the server processes from a connection outside the pool, and waits until they are gone.</summary>
    private static async Task TerminateAsync(string connectionString, int[] backends)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "SELECT pg_terminate_backend(pid, 10000) FROM unnest($1) AS pid", admin) { Parameters = { new NpgsqlParameter<int[]> { TypedValue = backends } } };
        await terminate.ExecuteNonQueryAsync();
    }

    /// <summary>Storage whose every call runs <paramref name="sql"/> on a pooled connection and fails, as Orleans' ADO.NET storage would.</summary>
    private sealed class FailingStorage(string connectionString, string sql) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => FailAsync();

        private async Task FailAsync()
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
            throw new InvalidOperationException($"'{sql}' did not fail.");
        }
    }
}

/// <summary>Tests that check the process's Npgsql connection pools: they run after the others, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConnectionPoolCollection
{
    public const string Name = "Connection pools, alone";
}
