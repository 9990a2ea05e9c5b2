using TokenGrid.Silo.Commands;
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
    try
    {
        var builder = WebApplication.CreateBuilder(args);
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
        return 0;
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
}
