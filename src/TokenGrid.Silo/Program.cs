using TokenGrid.Silo.Commands;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Hosting;

// TokenGrid's executable. With no command (or only options such as --profile NAME) it runs the server: an Orleans
// silo and the HTTP API in one process. "generate" and "build-demo-model" drive the inference engine directly;
// "db migrate" applies the PostgreSQL schema; "models check" describes a model folder (SiloCommands, "--help" for all).
return SiloCommands.IsCommand(args)
    ? await SiloCommands.InvokeAsync(args, Console.Out, Console.Error)
    : await RunServerAsync(args);

static async Task<int> RunServerAsync(string[] args)
{
    // A configuration mistake is the operator's to fix: say what is wrong in one line, without a stack trace.
    IConfiguration? configuration = null;
    try
    {
        var builder = WebApplication.CreateBuilder(args);
        configuration = builder.Configuration;
        builder.AddTokenGrid();

        var app = builder.Build();
        var (arenas, warning) = MallocArenas.Describe(Environment.GetEnvironmentVariable, OperatingSystem.IsLinux());
        if (warning is null)
        {
            app.Logger.LogInformation("Native memory: {Arenas}", arenas);
        }
        else
        {
            app.Logger.LogWarning("Native memory: {Warning}", warning);
        }

        app.MapTokenGrid();
        await app.RunAsync();
        return GrainDirectoryCheck.StoppedBecause is { } reason ? Stopped(reason) : 0;
    }
    catch (OperationCanceledException) when (GrainDirectoryCheck.StoppedBecause is { } reason)
    {
        // The silo stopped itself while the host was still starting.
        return Stopped(reason);
    }
    catch (StartupConfigurationException e)
    {
        Console.Error.WriteLine($"TokenGrid cannot start: {e.Message}");
        return StartupConfigurationException.ExitCode;
    }
    catch (Microsoft.Extensions.Options.OptionsValidationException e)
    {
        Console.Error.WriteLine($"TokenGrid cannot start: {string.Join(" ", e.Failures)}");
        return StartupConfigurationException.ExitCode;
    }
    catch (Exception e) when (ListenFailure.Describe(e, configuration) is { } listen)
    {
        // Another process holds a port: the host has logged the exception; the operator needs the setting.
        Console.Error.WriteLine($"TokenGrid cannot start: {listen}");
        return 1;
    }
    catch (Exception e) when (DatabaseUnavailable(e) is { } database)
    {
        // A database that refused the connection (a wrong password) or did not answer within the startup wait: the
        // operator's to fix or wait for, and the host has logged how it went. One line and exit code 1, as "db migrate"
        // does, not an unhandled exception that aborts the process.
        Console.Error.WriteLine($"TokenGrid cannot start: {database.Message}");
        return 1;
    }
}

// A silo that stopped itself because it must not serve with the cluster it joined: one line, exit code 1.
static int Stopped(string reason)
{
    Console.Error.WriteLine($"TokenGrid stopped: {reason}");
    return GrainDirectoryCheck.ExitCode;
}

// The database's failure to start, however the host's start wrapped it.
static DatabaseUnavailableException? DatabaseUnavailable(Exception? e)
{
    for (; e is not null; e = e.InnerException)
    {
        if (e is DatabaseUnavailableException database)
        {
            return database;
        }

        if (e is AggregateException aggregate && aggregate.InnerExceptions.Select(DatabaseUnavailable).FirstOrDefault(d => d is not null) is { } inner)
        {
            return inner;
        }
    }

    return null;
}
