namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// Where the silo executable is: the Silo project's own build output for the test's configuration (the solution build
/// makes it before the tests run), else the copy beside the test assembly (it references the Silo project).
/// </summary>
public static class SiloExecutable
{
    /// <summary>The full path of <c>TokenGrid.Silo.dll</c>.</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        // The test runs from tests/TokenGrid.Silo.Tests/bin/{Configuration}/{tfm}/{rid}/; the silo's own output mirrors it.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
        var parts = new List<string>();
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (dir.Name == "bin" && dir.Parent?.Parent?.Parent is { } root && File.Exists(System.IO.Path.Combine(root.FullName, "src", "TokenGrid.Silo", "TokenGrid.Silo.csproj")))
            {
                var own = System.IO.Path.Combine([root.FullName, "src", "TokenGrid.Silo", "bin", .. parts, "TokenGrid.Silo.dll"]);
                if (File.Exists(own) && File.Exists(System.IO.Path.ChangeExtension(own, ".runtimeconfig.json")))
                {
                    return own;
                }

                break;
            }

            parts.Insert(0, dir.Name);
        }

        var beside = System.IO.Path.Combine(AppContext.BaseDirectory, "TokenGrid.Silo.dll");
        return File.Exists(beside) && File.Exists(System.IO.Path.ChangeExtension(beside, ".runtimeconfig.json"))
            ? beside
            : throw new FileNotFoundException($"TokenGrid.Silo.dll was not found beside {AppContext.BaseDirectory} nor in the Silo project's output; build the solution first.");
    }
}
