using System.CommandLine;
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
    /// <summary>The <c>db</c> command with its <c>migrate</c> subcommand.</summary>
    public static Command Create()
    {
        var connection = new Option<string?>("--connection")
        {
            Description = "The PostgreSQL connection string. Default: TokenGrid:Database:ConnectionString from the environment or the profile.",
            HelpName = "STRING",
        };
        var profile = new Option<string?>("--profile")
        {
            Description = $"A configuration profile in silo-config/, or a .json path. Default: ${ConfigurationProfiles.EnvironmentVariable}, else {ConfigurationProfiles.Default}.",
            HelpName = "NAME",
        };
        var migrate = new Command("migrate", "Waits for PostgreSQL, then applies TokenGrid's pending schema migrations (idempotent, safe to run from several places at once).")
        {
            connection, profile,
        };
        migrate.SetAction((result, cancellation) =>
            MigrateAsync(result.GetValue(connection), result.GetValue(profile), result.InvocationConfiguration, cancellation));
        return new Command("db", "Database maintenance.") { migrate };
    }

    private static async Task<int> MigrateAsync(string? connection, string? profile, InvocationConfiguration console, CancellationToken cancellation)
    {
        var configuration = new ConfigurationManager();
        configuration.AddEnvironmentVariables();
        if (profile is not null)
        {
            configuration.AddInMemoryCollection([new(ConfigurationProfiles.Key, profile)]);
        }

        using var loggers = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(simple => simple.SingleLine = true)
            .AddFilter("Npgsql", LogLevel.Warning));
        try
        {
            ConfigurationProfiles.AddProfile(configuration);
            var database = configuration.GetValidated<DatabaseOptions>();
            var connectionString = connection ?? database.RequireConnectionString();
            await new DatabaseWaiter(TimeProvider.System, loggers.CreateLogger<DatabaseWaiter>())
                .WaitAsync(connectionString, database, cancellation);
            var result = await new MigrationRunner(loggers.CreateLogger<MigrationRunner>())
                .MigrateAsync(connectionString, Migration.All, cancellation);
            console.Output.WriteLine($"{DatabaseWaiter.Describe(connectionString)}: {result.Applied.Count} migrations applied, {result.AlreadyApplied} already there.");
            return 0;
        }
        catch (OptionsValidationException e)
        {
            console.Error.WriteLine($"db migrate: {string.Join(" ", e.Failures)}");
            return 2;
        }
        catch (Exception e) when (e is DatabaseUnavailableException or SchemaMigrationException or Npgsql.NpgsqlException or InvalidOperationException)
        {
            console.Error.WriteLine($"db migrate failed: {e.Message}");
            return 1;
        }
    }
}
