using TokenGrid.Silo.Tests.Database;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// One silo on the postgres profile, in a fresh database of its own, shared by the tenant-facing suites that also run
/// on the local profile (charging, isolation, bad input, fuzzing): production runs on PostgreSQL, so they must hold there.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private PostgresTestDatabase? _database;
    private TokenGridServer? _server;

    public TokenGridServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync(migrate: false);
        _server = await TokenGridServer.StartAsync(PostgresSilo.Settings(_database.ConnectionString, $"pg-suites-{Guid.NewGuid():N}"));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresServerCollection : ICollectionFixture<PostgresServerFixture>
{
    public const string Name = "PostgresServer";
}
