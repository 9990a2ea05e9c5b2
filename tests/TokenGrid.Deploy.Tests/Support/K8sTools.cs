using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace TokenGrid.Deploy.Tests.Support;

/// <summary>
/// The renderer (kubectl kustomize) and the schema validator (k8s/tools/validate.mjs on the kubernetes-models packages),
/// installed by scripts/k8s-tools.sh into <c>$TOKENGRID_K8S_TOOLS</c> (default artifacts/k8s-tools). Without them the
/// tests fail with the command to run; they never skip.
/// </summary>
public static class K8sTools
{
    /// <summary>The environment variable naming the tools folder.</summary>
    public const string Variable = "TOKENGRID_K8S_TOOLS";

    private static readonly ConcurrentDictionary<string, Lazy<Task<RenderedManifests>>> Rendered = new();

    /// <summary>The tools folder.</summary>
    public static string Folder =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } folder ? folder : Repository.PathOf("artifacts/k8s-tools");

    /// <summary>The kubectl binary.</summary>
    public static string Kubectl => Require(Path.Combine(Folder, "bin", "kubectl"));

    /// <summary>
    /// Every kustomization an operator may apply: the base, the overlays and the examples (components are rendered
    /// inside the examples; k8s/monitoring belongs to the monitoring setup and is not applied on its own).
    /// </summary>
    public static IReadOnlyList<string> Kustomizations()
    {
        var k8s = Repository.PathOf("k8s");
        return Directory.EnumerateFiles(k8s, "kustomization.yaml", SearchOption.AllDirectories)
            .Where(f => !File.ReadAllText(f).Contains("kind: Component", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(k8s, Path.GetDirectoryName(f)!).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(d => d is not "tools" && !d.StartsWith("monitoring", StringComparison.Ordinal) && !d.StartsWith("tools/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Renders <c>k8s/{kustomization}</c> once per test run and validates what it rendered.</summary>
    public static Task<RenderedManifests> RenderAsync(string kustomization) =>
        Rendered.GetOrAdd(kustomization, k => new Lazy<Task<RenderedManifests>>(() => RenderNowAsync(k))).Value;

    /// <summary>Runs the schema validator on a file of manifests, writing the parsed objects to <paramref name="json"/>.</summary>
    public static async Task<ProcessResult> ValidateAsync(string yamlFile, string json)
    {
        // The validator resolves its packages from the folder it runs in; copy the current one there.
        var script = Path.Combine(Folder, "validate.mjs");
        Require(Path.Combine(Folder, "node_modules", "kubernetes-models", "package.json"));
        File.Copy(Repository.PathOf("k8s/tools/validate.mjs"), script, overwrite: true);
        return await ProcessRunner.RunAsync("node", [script, yamlFile, "--json", json], TimeSpan.FromMinutes(2));
    }

    private static async Task<RenderedManifests> RenderNowAsync(string kustomization)
    {
        var render = await ProcessRunner.RunAsync(Kubectl, ["kustomize", Repository.PathOf($"k8s/{kustomization}")], TimeSpan.FromMinutes(2));
        if (render.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize k8s/{kustomization} failed: {render.All}");
        }

        var scratch = Repository.Scratch("render/" + kustomization.Replace('/', '-'));
        var yaml = Path.Combine(scratch, "rendered.yaml");
        var json = Path.Combine(scratch, "objects.json");
        await File.WriteAllTextAsync(yaml, render.Output);
        var validation = await ValidateAsync(yaml, json);
        var objects = File.Exists(json)
            ? (JsonNode.Parse(await File.ReadAllTextAsync(json)) as JsonArray ?? []).OfType<JsonObject>().ToList()
            : [];
        return new RenderedManifests(kustomization, render.Output, objects, validation);
    }

    private static string Require(string path) =>
        File.Exists(path)
            ? path
            : throw new FileNotFoundException(
                $"{path} is missing: run scripts/k8s-tools.sh (it installs kubectl and the schema validator into " +
                $"artifacts/k8s-tools), or set {Variable} to a folder it installed.");
}
