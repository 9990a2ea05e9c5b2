using TokenGrid.Silo.Commands;
using TokenGrid.Silo.Hosting;

// TokenGrid's executable. With no command (or only options such as --profile NAME) it runs the server: an Orleans
// silo and the HTTP API in one process. "generate" and "build-demo-model" drive the inference engine directly;
// "db migrate" applies the PostgreSQL schema; "models check" describes a model folder.
return args switch
{
    ["generate", .. var rest] => await GenerateCommand.RunAsync(rest),
    ["build-demo-model", .. var rest] => BuildDemoModelCommand.Run(rest),
    ["db", .. var rest] => await DbCommand.RunAsync(rest),
    ["models", .. var rest] => await ModelsCommand.RunAsync(rest, Console.Out, Console.Error),
    ["help" or "--help" or "-h"] => PrintUsage(),
    _ => await RunServerAsync(args),
};

static async Task<int> RunServerAsync(string[] args)
{
    // A configuration mistake is the operator's to fix: say what is wrong in one line, without a stack trace.
    try
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddTokenGrid();

        var app = builder.Build();
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

static int PrintUsage()
{
    Console.WriteLine("""
        TokenGrid

          (no command) [--profile NAME]
              Runs a silo and the HTTP API in one process. NAME is a file in silo-config/ (default: local, or
              $TOKENGRID_PROFILE). Any setting can be given as --Section:Key value or as Section__Key in the environment.

          generate "<prompt>" [--max-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S]
                              [--stop TEXT] [--model DIR] [--provider auto|cuda|cpu]
              Streams a completion from the demo model (built on first use) or a model directory.

          build-demo-model [--out DIR]
              Writes the demo model (a small GPT-2 with the cl100k vocabulary) and prints its directory.

          models check DIR [--conversation FILE] [--max-tokens N] [--provider auto|cuda|cpu]
              Shows what TokenGrid sees in a model folder: layout, the names and element types it feeds, the key/value
              cache, the tokenizer, the chat template with a sample conversation (or the OpenAI messages JSON in FILE)
              rendered to the exact prompt and its token ids, and a short greedy run with its tokens per second.

          db migrate [--connection STRING] [--profile NAME]
              Waits for PostgreSQL, then applies TokenGrid's pending schema migrations (idempotent, safe to run from
              several places at once). The connection string defaults to TokenGrid:Database:ConnectionString
              (TokenGrid__Database__ConnectionString in the environment, or the profile).
        """);
    return 0;
}
