using System.Text.RegularExpressions;

namespace TokenGrid.Deploy.Tests.Support;

/// <summary>One instruction of a Dockerfile, continuation lines joined.</summary>
public sealed record DockerInstruction(string Stage, string Keyword, string Arguments);

/// <summary>The stages and instructions of the repository's Dockerfile, read as Docker reads them (comments, continuations).</summary>
public sealed partial class DockerfileModel
{
    private DockerfileModel(IReadOnlyList<DockerInstruction> instructions, IReadOnlyList<string> stages, IReadOnlyDictionary<string, string> globalArgs)
    {
        Instructions = instructions;
        Stages = stages;
        GlobalArgs = globalArgs;
    }

    /// <summary>Every instruction, with the stage it belongs to ("" before the first FROM).</summary>
    public IReadOnlyList<DockerInstruction> Instructions { get; }

    /// <summary>The stage names in order; the last is what a plain "docker build" produces.</summary>
    public IReadOnlyList<string> Stages { get; }

    /// <summary>The ARG defaults declared before the first FROM.</summary>
    public IReadOnlyDictionary<string, string> GlobalArgs { get; }

    /// <summary>The repository's Dockerfile.</summary>
    public static DockerfileModel Load() => Parse(Repository.Read("Dockerfile"));

    /// <summary>The instructions of one stage.</summary>
    public IEnumerable<DockerInstruction> Of(string stage) => Instructions.Where(i => i.Stage == stage);

    /// <summary>The value an ENV instruction of <paramref name="stage"/> sets for <paramref name="name"/>, or null.</summary>
    public string? Env(string stage, string name) =>
        Of(stage).Where(i => i.Keyword == "ENV")
            .SelectMany(i => EnvPair().Matches(i.Arguments))
            .Where(m => m.Groups["name"].Value == name)
            .Select(m => m.Groups["value"].Value.Trim('"'))
            .LastOrDefault();

    /// <summary>The sources and flags of the COPY and ADD instructions.</summary>
    public IEnumerable<(DockerInstruction Instruction, string? From, IReadOnlyList<string> Sources)> Copies()
    {
        foreach (var instruction in Instructions.Where(i => i.Keyword is "COPY" or "ADD"))
        {
            var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var from = words.Where(w => w.StartsWith("--from=", StringComparison.Ordinal)).Select(w => w["--from=".Length..]).SingleOrDefault();
            var paths = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
            yield return (instruction, from, paths[..^1]);
        }
    }

    private static DockerfileModel Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var stages = new List<string>();
        var globalArgs = new Dictionary<string, string>();
        var stage = "";
        var pending = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (pending.Length == 0 && line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var full = (pending + line).Trim();
            pending = "";
            if (full.Length == 0)
            {
                continue;
            }

            var space = full.IndexOf(' ');
            var keyword = (space < 0 ? full : full[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : full[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var match = FromLine().Match(arguments);
                stage = match.Success ? match.Groups["name"].Value : $"#{stages.Count}";
                stages.Add(stage);
            }
            else if (keyword == "ARG" && stage.Length == 0)
            {
                var parts = arguments.Split('=', 2);
                globalArgs[parts[0]] = parts.Length > 1 ? parts[1] : "";
            }

            instructions.Add(new DockerInstruction(stage, keyword, arguments));
        }

        return new DockerfileModel(instructions, stages, globalArgs);
    }

    [GeneratedRegex(@"\s+AS\s+(?<name>\S+)$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
