using System.Text.RegularExpressions;

namespace TokenGrid.Deploy.Tests.Support;

/// <summary>
/// The build context's exclusions (.dockerignore): patterns in order, the last match deciding, "!" re-including, "**"
/// spanning folders, and a pattern that matches a folder covering everything below it.
/// </summary>
public sealed class DockerIgnore(IReadOnlyList<(bool Include, Regex Pattern)> rules)
{
    /// <summary>The repository's .dockerignore.</summary>
    public static DockerIgnore Load() => new(
        Repository.Read(".dockerignore").Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (l.StartsWith('!'), ToRegex(l.TrimStart('!').Trim('/'))))
            .ToList());

    /// <summary>Whether a path of the context (forward slashes, relative to the root) is sent to the builder.</summary>
    public bool IsIncluded(string path)
    {
        var included = true;
        var prefixes = Prefixes(path.Trim('/')).ToList();
        foreach (var (include, pattern) in rules)
        {
            if (prefixes.Any(p => pattern.IsMatch(p)))
            {
                included = include;
            }
        }

        return included;
    }

    private static IEnumerable<string> Prefixes(string path)
    {
        var parts = path.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            yield return string.Join('/', parts[..i]);
        }
    }

    private static Regex ToRegex(string pattern)
    {
        var regex = Regex.Escape(pattern)
            .Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal)
            .Replace(@"\*\*", ".*", StringComparison.Ordinal)
            .Replace(@"\*", "[^/]*", StringComparison.Ordinal)
            .Replace(@"\?", "[^/]", StringComparison.Ordinal);
        return new Regex($"^{regex}$");
    }
}
