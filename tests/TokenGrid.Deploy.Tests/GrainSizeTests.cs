using System.Text.RegularExpressions;
using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>
/// Coordinators stay readable: no grain class holds more than about 400 lines of logic over all its partial files
/// (its <c>*.Log.cs</c> logger messages aside). Logic lines are what is left without blank lines, comments, lone
/// braces, <c>using</c> and <c>namespace</c> lines. A grain that outgrows it extracts a seam into a class with its own
/// state and tests (as <c>JobEventLog</c>, <c>GroupCommit</c> and <c>DispatchBook</c> did).
/// </summary>
public sealed partial class GrainSizeTests
{
    private const int MaxLogicLines = 400;

    [Fact]
    public void No_grain_class_holds_more_than_400_lines_of_logic()
    {
        var files = Directory.GetFiles(Repository.PathOf("src/TokenGrid.Grains"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllLines);
        var grains = files.Values.SelectMany(lines => GrainDeclaration().Matches(string.Join('\n', lines)))
            .Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);

        var sizes = grains.ToDictionary(g => g, g => files
            .Where(f => !f.Key.EndsWith(".Log.cs", StringComparison.Ordinal)
                && f.Value.Any(l => Regex.IsMatch(l, $@"\bclass {g}\b")))
            .Sum(f => f.Value.Count(IsLogic)));

        // The rule only means something while it sees the grains it is about.
        Assert.Contains("JobGrain", grains);
        Assert.Contains("TenantGrain", grains);
        Assert.Contains("ModelDispatcherGrain", grains);
        Assert.True(sizes["JobGrain"] > 100, "the count must see the job grain's partial files");
        Assert.All(sizes, s => Assert.True(s.Value <= MaxLogicLines, $"{s.Key} holds {s.Value} lines of logic (at most {MaxLogicLines})."));
    }

    private static bool IsLogic(string line)
    {
        var text = line.Trim();
        return text.Length > 0 && !text.StartsWith("//", StringComparison.Ordinal) && text is not ("{" or "}" or "};" or "});")
            && !text.StartsWith("using ", StringComparison.Ordinal) && !text.StartsWith("namespace ", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\bclass (?<name>\w+Grain)\b[^{;]*?\)?\s*:\s*Grain\b")]
    private static partial Regex GrainDeclaration();
}
