using System.CommandLine;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Silo.Commands;

/// <summary><c>build-demo-model</c>: writes the demo model and prints where.</summary>
internal static class BuildDemoModelCommand
{
    /// <summary>The <c>build-demo-model [--out DIR]</c> command.</summary>
    public static Command Create()
    {
        var output = new Option<string?>("--out")
        {
            Description = "Where to write it. Default: the demo model cache, left as it is when already built.",
            HelpName = "DIR",
        };
        var command = new Command("build-demo-model", "Writes the demo model (a small GPT-2 with the cl100k vocabulary) and prints its directory.")
        {
            output,
        };
        command.SetAction(result =>
        {
            var spec = DemoModelSpec.Default;
            string directory;
            if (result.GetValue(output) is { } given)
            {
                DemoModelBuilder.Write(given, spec);
                directory = given;
            }
            else
            {
                directory = DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, spec);
            }

            result.InvocationConfiguration.Output.WriteLine(directory);
            return 0;
        });
        return command;
    }
}
