using System.CommandLine;

namespace TokenGrid.Benchmarks;

/// <summary>
/// A scenario as a System.CommandLine command: its own options plus <c>--json FILE</c>; it prints its figures and, with
/// <c>--json</c>, writes them as one flat JSON object with stable keys.
/// </summary>
public static class BenchmarkCommand
{
    /// <summary>The command <paramref name="name"/> running <paramref name="run"/> with <paramref name="options"/>.</summary>
    public static Command Scenario(string name, string description, Func<ParseResult, Task<BenchmarkReport>> run, params Option[] options)
    {
        var json = new Option<string?>("--json") { Description = "Also write the figures as one flat JSON object to FILE.", HelpName = "FILE" };
        var command = new Command(name, description) { json };
        foreach (var option in options)
        {
            command.Add(option);
        }

        command.SetAction(async result =>
        {
            var output = result.InvocationConfiguration.Output;
            BenchmarkReport report;
            try
            {
                report = await run(result);
            }
            catch (BenchmarkUsageException e)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"{name}: {e.Message}");
                return 2;
            }

            report.Print(output);
            if (result.GetValue(json) is { } path)
            {
                report.WriteJson(path);
                output.WriteLine($"wrote {path}");
            }

            return 0;
        });
        return command;
    }

    /// <summary>A whole-number option with its default.</summary>
    public static Option<int> Int(string name, int defaultValue, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };

    /// <summary><c>--postgres CONNECTION-STRING</c>: the PostgreSQL server to create fresh databases on.</summary>
    public static Option<string?> Postgres() => new("--postgres")
    {
        Description = "A PostgreSQL server to create fresh databases on. Default: $TOKENGRID_TEST_POSTGRES.",
        HelpName = "CONNECTION-STRING",
    };

    /// <summary><c>--model DIR</c>: a model folder instead of the demo model.</summary>
    public static Option<string?> Model() => new("--model") { Description = "A model folder. Default: the demo model.", HelpName = "DIR" };
}

/// <summary>A scenario run without what it needs (a missing option or service): a message and exit code 2, not a crash.</summary>
public sealed class BenchmarkUsageException(string message) : Exception(message);
