using k8s;
using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>Every kustomization renders, and every object it renders is valid for its apiVersion and kind.</summary>
public sealed class RenderTests
{
    /// <summary>Kinds defined by operators' CRDs: validated by their schemas, not by the Kubernetes client's types.</summary>
    private static readonly Dictionary<string, Type> CustomKinds = new()
    {
        ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(Dictionary<object, object>),
        ["keda.sh/v1alpha1/ScaledObject"] = typeof(Dictionary<object, object>),
    };

    public static TheoryData<string> All => [.. K8sTools.Kustomizations()];

    [Fact]
    public void Every_overlay_and_example_is_rendered()
    {
        Assert.Subset(K8sTools.Kustomizations().ToHashSet(), new HashSet<string> { "base", "overlays/dev", "overlays/gpu", "examples/gpu-autoscaling" });
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Every_rendered_object_validates_against_the_schema_of_its_kind(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        Assert.True(rendered.Validation.ExitCode == 0, $"k8s/{kustomization}: {rendered.Validation.All}");
        Assert.NotEmpty(rendered.Objects);
        var valid = rendered.Validation.Output.Split('\n').Count(l => l.StartsWith("valid ", StringComparison.Ordinal));
        Assert.Equal(rendered.Objects.Count, valid);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Built_in_objects_have_no_unknown_fields(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        // The JSON schemas allow unknown fields (so does the API server, with a warning); the Kubernetes client's
        // strict reader does not, which catches a misspelt or misplaced field.
        var objects = KubernetesYaml.LoadAllFromString(rendered.Yaml, CustomKinds, strict: true);

        Assert.Equal(rendered.Objects.Count, objects.Count);
    }

    [Fact]
    public async Task The_validator_rejects_an_object_that_breaks_its_schema()
    {
        var scratch = Repository.Scratch("validator-negative");
        var yaml = Path.Combine(scratch, "broken.yaml");
        await File.WriteAllTextAsync(yaml, """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              selector:
                matchLabels: { app: broken }
              template:
                metadata:
                  labels: { app: broken }
                spec:
                  containers:
                    - name: silo
                      image: tokengrid
                      ports:
                        - containerPort: http
            ---
            apiVersion: example.com/v1
            kind: Widget
            metadata:
              name: unknown
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: fine
            spec:
              ports:
                - port: 80
            """);

        var result = await K8sTools.ValidateAsync(yaml, Path.Combine(scratch, "objects.json"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("invalid Deployment/broken", result.Output, StringComparison.Ordinal);
        Assert.Contains("containerPort must be integer", result.Output, StringComparison.Ordinal);
        Assert.Contains("invalid Widget/unknown: no schema is known for example.com/v1 Widget", result.Output, StringComparison.Ordinal);
        Assert.Contains("valid Service/fine", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_strict_reader_rejects_an_unknown_field()
    {
        const string yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: typo
            spec:
              replica: 2
              selector:
                matchLabels: { app: typo }
              template:
                spec:
                  containers: [{ name: silo, image: tokengrid }]
            """;

        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(yaml, CustomKinds, strict: true));
        Assert.Single(KubernetesYaml.LoadAllFromString(yaml.Replace("replica:", "replicas:", StringComparison.Ordinal), CustomKinds, strict: true));
    }
}
