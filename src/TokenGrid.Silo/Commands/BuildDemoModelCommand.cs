using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Silo.Commands;

/// <summary><c>build-demo-model</c>: writes the demo model and prints where.</summary>
internal static class BuildDemoModelCommand
{
    public static int Run(string[] args)
    {
        var line = new CommandLine(args);
        var spec = DemoModelSpec.Default;
        string directory;
        if (line.String("out") is { } output)
        {
            DemoModelBuilder.Write(output, spec);
            directory = output;
        }
        else
        {
            directory = DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, spec);
        }

        Console.WriteLine(directory);
        return 0;
    }
}
