using Npgsql;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Tests.Support;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A database the silo cannot use as it is stops the start with one line the executable prints
/// (<see cref="DatabaseUnavailableException"/>), not an exception from Orleans' start.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class DatabaseStartupTests
{
    [Fact]
    public async Task A_database_without_the_schema_and_no_migration_at_startup_names_what_is_missing_and_both_ways_out()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var settings = PostgresSilo.Settings(database.ConnectionString);
        settings["TokenGrid:Database:MigrateOnStartup"] = "false";

        var error = Unavailable(await Assert.ThrowsAnyAsync<Exception>(() => TokenGridServer.StartAsync(settings)));

        Assert.Equal(
            $"PostgreSQL at 127.0.0.1:5432/{database.Name} lacks {Migration.All.Count} of TokenGrid's {Migration.All.Count} migrations "
            + $"(from 0001_{Migration.All[0].Name}) and TokenGrid:Database:MigrateOnStartup is false: run db migrate, or set it to true.",
            error.Message.Replace(new NpgsqlConnectionStringBuilder(database.ConnectionString).Host + ":", "127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_role_that_may_not_create_in_the_schema_is_named_with_what_it_needs()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await database.ExecuteAsync("CREATE SCHEMA locked; REVOKE CREATE ON SCHEMA locked FROM CURRENT_USER");
        var settings = PostgresSilo.Settings(new NpgsqlConnectionStringBuilder(database.ConnectionString) { SearchPath = "locked" }.ConnectionString);

        var error = Unavailable(await Assert.ThrowsAnyAsync<Exception>(() => TokenGridServer.StartAsync(settings)));

        Assert.Contains("refused TokenGrid's migrations: 42501: permission denied for schema locked; the role of TokenGrid:Database:ConnectionString needs", error.Message, StringComparison.Ordinal);
    }

    private static DatabaseUnavailableException Unavailable(Exception error) =>
        Find(error) ?? throw new Xunit.Sdk.XunitException($"not a DatabaseUnavailableException: {error}");

    private static DatabaseUnavailableException? Find(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is DatabaseUnavailableException unavailable)
            {
                return unavailable;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Select(Find).FirstOrDefault(f => f is not null) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }
}
