namespace TokenGrid.Deploy.Tests.Support;

/// <summary>The silo as the solution build made it, and a publish folder made from that build.</summary>
public static class SiloBuild
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    /// <summary>
    /// The silo project's own output for this test's configuration: the test runs from
    /// tests/TokenGrid.Deploy.Tests/bin/{Configuration}/{tfm}/{rid}/, and the silo's output mirrors it.
    /// </summary>
    public static string Dll
    {
        get
        {
            var output = Path.GetRelativePath(Repository.PathOf("tests/TokenGrid.Deploy.Tests/bin"), AppContext.BaseDirectory);
            var dll = Path.Combine(Repository.PathOf("src/TokenGrid.Silo/bin"), output, "TokenGrid.Silo.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build the solution first.");
        }
    }

    /// <summary>
    /// "dotnet publish" of the existing build (no rebuild) into artifacts/deploy-tests/publish, once per test run: the
    /// folder the Dockerfile copies into the image.
    /// </summary>
    public static Task<string> PublishFolderAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        var folder = Repository.Scratch("publish");
        var result = await ProcessRunner.RunAsync("dotnet",
            ["publish", Repository.PathOf("src/TokenGrid.Silo/TokenGrid.Silo.csproj"), "-c", Repository.Configuration, "--no-build", "-o", folder, "-nologo"],
            TimeSpan.FromMinutes(5));
        return result.ExitCode == 0 && File.Exists(Path.Combine(folder, "TokenGrid.Silo.dll"))
            ? folder
            : throw new InvalidOperationException($"dotnet publish failed: {result.All}");
    }
}
