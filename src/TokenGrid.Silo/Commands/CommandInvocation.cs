using System.CommandLine;
using System.CommandLine.Parsing;

namespace TokenGrid.Silo.Commands;

/// <summary>
/// Parses and runs a System.CommandLine command tree the way TokenGrid's commands agree on: a usage mistake (an unknown
/// option, a value that does not parse, a missing argument) is reported on the error writer with exit code 2, before any
/// action runs; otherwise the command's own action decides the exit code.
/// </summary>
internal static class CommandInvocation
{
    /// <summary>The exit code for a command line that does not parse.</summary>
    public const int UsageError = 2;

    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/> and runs the chosen command.</summary>
    public static Task<int> InvokeAsync(RootCommand root, IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        var result = root.Parse(args);
        var errors = OptionsTakenAsArguments(result).Concat(result.Errors.Select(e => e.Message)).ToList();
        if (errors.Count > 0)
        {
            foreach (var message in errors)
            {
                error.WriteLine(message);
            }

            error.WriteLine($"See '{string.Join(' ', CommandPath(result.CommandResult.Command, root))} --help'.");
            return Task.FromResult(UsageError);
        }

        return result.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellation);
    }

    // System.CommandLine gives an unknown option to a command's positional argument when it has one
    // ("generate --bogus" would be the prompt "--bogus"); a positional value never starts with a dash here.
    private static IEnumerable<string> OptionsTakenAsArguments(ParseResult result)
    {
        for (SymbolResult? command = result.CommandResult; command is not null; command = command.Parent)
        {
            foreach (var argument in ((CommandResult)command).Children.OfType<ArgumentResult>())
            {
                foreach (var token in argument.Tokens.Where(t => t.Value.StartsWith('-') && t.Value.Length > 1))
                {
                    yield return $"Unrecognized option '{token.Value}'.";
                }
            }
        }
    }

    private static IEnumerable<string> CommandPath(Command command, RootCommand root)
    {
        if (command == root)
        {
            return [RootCommand.ExecutableName];
        }

        var parent = command.Parents.OfType<Command>().FirstOrDefault();
        return parent is null ? [command.Name] : [.. CommandPath(parent, root), command.Name];
    }
}
