using Microsoft.Extensions.Options;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Hosting;
using TokenGrid.Storage.Postgres.Migrations;

namespace TokenGrid.Silo.Commands;

/// <summary>
/// <c>db migrate [--connection STRING] [--profile NAME]</c>: waits for PostgreSQL (as a starting silo does), then applies
/// the pending migrations. The connection string comes from <c>--connection</c>, else from configuration
/// (<c>TokenGrid:Database:ConnectionString</c>: the profile, or <c>TokenGrid__Database__ConnectionString</c>).
/// </summary>
internal static class DbCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["migrate", .. var rest])
        {
            Console.Error.WriteLine("usage: db migrate [--connection STRING] [--profile NAME]");
            return 2;
        }

        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(rest);
        using var loggers = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console => console.SingleLine = true)
            .AddFilter("Npgsql", LogLevel.Warning));
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        try
        {
            ConfigurationProfiles.AddProfile(configuration);
            var database = configuration.GetValidated<DatabaseOptions>();
            var connectionString = new CommandLine(rest).String("connection") ?? database.RequireConnectionString();
            await new DatabaseWaiter(TimeProvider.System, loggers.CreateLogger<DatabaseWaiter>())
                .WaitAsync(connectionString, database, stop.Token);
            var result = await new MigrationRunner(loggers.CreateLogger<MigrationRunner>())
                .MigrateAsync(connectionString, Migration.All, stop.Token);
            Console.WriteLine($"{DatabaseWaiter.Describe(connectionString)}: {result.Applied.Count} migrations applied, {result.AlreadyApplied} already there.");
            return 0;
        }
        catch (OptionsValidationException e)
        {
            Console.Error.WriteLine($"db migrate: {string.Join(" ", e.Failures)}");
            return 2;
        }
        catch (Exception e) when (e is DatabaseUnavailableException or SchemaMigrationException or Npgsql.NpgsqlException or InvalidOperationException)
        {
            Console.Error.WriteLine($"db migrate failed: {e.Message}");
            return 1;
        }
    }
}
