namespace TokenGrid.Deploy.Tests.Support;

/// <summary>Paths in the repository the tests run from.</summary>
public static class Repository
{
    /// <summary>The folder holding TokenGrid.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration of this test assembly (the silo is built with the same one).</summary>
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    /// <summary>A path under the root, from forward-slash separated parts.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The text of a file under the root.</summary>
    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>A scratch folder under artifacts/deploy-tests, emptied first.</summary>
    public static string Scratch(string name)
    {
        var path = PathOf($"artifacts/deploy-tests/{name}");
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TokenGrid.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No TokenGrid.sln above {AppContext.BaseDirectory}.");
    }
}
