using System.Text.Json.Nodes;

namespace TokenGrid.Deploy.Tests.Support;

/// <summary>The objects one kustomization renders, and what the schema validator said of them.</summary>
public sealed record RenderedManifests(string Kustomization, string Yaml, IReadOnlyList<JsonObject> Objects, ProcessResult Validation)
{
    /// <summary>The objects of one kind.</summary>
    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    /// <summary>The one object of a kind and name (names may carry a generator's hash suffix when <paramref name="prefix"/>).</summary>
    public JsonObject Single(string kind, string name, bool prefix = false)
    {
        var found = OfKind(kind).Where(o => prefix ? NameOf(o).StartsWith(name + "-", StringComparison.Ordinal) : NameOf(o) == name).ToList();
        Assert.True(found.Count == 1, $"{Kustomization}: expected one {kind} {name}, found {found.Count}.");
        return found[0];
    }

    /// <summary>The silos' Deployment.</summary>
    public JsonObject Deployment => Single("Deployment", "tokengrid");

    /// <summary>The silos' pod spec.</summary>
    public JsonObject PodSpec => Deployment["spec"]!["template"]!["spec"]!.AsObject();

    /// <summary>The silo container.</summary>
    public JsonObject Silo => Container(PodSpec, "containers", "silo");

    /// <summary>A named container of a pod spec's <paramref name="list"/> (containers or initContainers).</summary>
    public static JsonObject Container(JsonObject podSpec, string list, string name)
    {
        var container = podSpec[list]?.AsArray().OfType<JsonObject>().SingleOrDefault(c => (string?)c["name"] == name);
        Assert.True(container is not null, $"no {list} entry named {name}");
        return container!;
    }

    /// <summary>Every container and init container of every pod template.</summary>
    public IEnumerable<(string Workload, JsonObject Container)> AllContainers() =>
        from workload in Objects
        let spec = workload["spec"]?["template"]?["spec"] as JsonObject
        where spec is not null
        from list in new[] { "initContainers", "containers" }
        from container in (spec[list] as JsonArray ?? []).OfType<JsonObject>()
        select ($"{workload["kind"]}/{NameOf(workload)}", container);

    /// <summary>An environment variable of a container.</summary>
    public static JsonObject? Env(JsonObject container, string name) =>
        (container["env"] as JsonArray ?? []).OfType<JsonObject>().SingleOrDefault(e => (string?)e["name"] == name);

    /// <summary>The metadata name of an object.</summary>
    public static string NameOf(JsonObject o) => (string?)o["metadata"]?["name"] ?? "";
}
