using System.CommandLine;
using TokenGrid.Silo.Hosting;

namespace TokenGrid.Silo.Commands;

/// <summary>
/// The executable's commands (<c>generate</c>, <c>build-demo-model</c>, <c>models check</c>, <c>db migrate</c>) on
/// System.CommandLine. A command line that names none of them is the server's: it goes to the host unparsed, because
/// any setting can be given there as <c>--Section:Key value</c> and no fixed list of options can describe them.
/// </summary>
internal static class SiloCommands
{
    /// <summary>The root command: help for the server and the commands beneath it.</summary>
    public static RootCommand Create() => new($"""
        TokenGrid. With no command: [--profile NAME] [--Section:Key value ...]
          Runs a silo and the HTTP API in one process. NAME is a file in silo-config/ (default: {ConfigurationProfiles.Default}, or
          ${ConfigurationProfiles.EnvironmentVariable}). Any setting can be given as --Section:Key value or as Section__Key in the environment.
        """)
    {
        GenerateCommand.Create(),
        BuildDemoModelCommand.Create(),
        ModelsCommand.Create(),
        DbCommand.Create(),
    };

    /// <summary>Whether <paramref name="args"/> name a command or ask for help, rather than run the server.</summary>
    public static bool IsCommand(string[] args) =>
        args is [var first, ..] && (first is "help" or "--help" or "-h" or "-?" || Create().Subcommands.Any(c => c.Name == first));

    /// <summary>Runs the command <paramref name="args"/> name; exit code 2 for a command line that does not parse.</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error) =>
        CommandInvocation.InvokeAsync(Create(), args is ["help"] ? ["--help"] : args, output, error);
}
