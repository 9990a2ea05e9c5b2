using System.Text.Json.Nodes;
using System.Xml.Linq;
using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>The Dockerfile and the SDK container settings, checked without a Docker engine.</summary>
public sealed class DockerfileTests
{
    private const string SiloProject = "src/TokenGrid.Silo/TokenGrid.Silo.csproj";

    [Fact]
    public void Every_copy_source_exists_in_the_build_context_and_is_not_ignored()
    {
        var dockerfile = DockerfileModel.Load();
        var ignore = DockerIgnore.Load();
        var copies = dockerfile.Copies().Where(c => c.From is null).ToList();
        Assert.NotEmpty(copies);

        foreach (var (instruction, _, sources) in copies)
        {
            Assert.NotEmpty(sources);
            foreach (var source in sources)
            {
                var path = Repository.PathOf(source.TrimEnd('/'));
                var files = Directory.Exists(path)
                    ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Repository.Root, f).Replace('\\', '/'))
                    : File.Exists(path) ? [source] : [];
                var sent = files.Where(ignore.IsIncluded).ToList();
                Assert.True(sent.Count > 0, $"{instruction.Stage}: COPY {source} names nothing the build context holds");
            }
        }

        // And the context is not the whole work tree: build outputs stay out.
        Assert.False(ignore.IsIncluded("src/TokenGrid.Silo/bin/Release/TokenGrid.Silo.dll"));
        Assert.False(ignore.IsIncluded("artifacts/k8s-tools/bin/kubectl"));
        Assert.True(ignore.IsIncluded("src/TokenGrid.Silo/Program.cs"));
    }

    [Fact]
    public void The_restore_layer_copies_every_project_the_silo_builds_from()
    {
        var dockerfile = DockerfileModel.Load();

        var copied = dockerfile.Copies().Where(c => c.From is null).SelectMany(c => c.Sources).Where(s => s.EndsWith(".csproj", StringComparison.Ordinal)).ToHashSet();
        var needed = ProjectClosure(SiloProject);
        Assert.Equal(needed.Order(StringComparer.Ordinal), copied.Order(StringComparer.Ordinal));
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "NuGet.config" })
        {
            Assert.Contains(dockerfile.Copies(), c => c.From is null && c.Sources.Contains(file));
        }
    }

    [Fact]
    public void Stages_build_the_cpu_image_by_default_and_each_image_with_its_onnx_runtime_flavor()
    {
        var dockerfile = DockerfileModel.Load();

        Assert.Equal("cpu", dockerfile.Stages[^1]);
        Assert.Contains("gpu", dockerfile.Stages);
        foreach (var (instruction, from, _) in dockerfile.Copies().Where(c => c.From is not null))
        {
            var at = dockerfile.Stages.ToList().IndexOf(instruction.Stage);
            Assert.True(dockerfile.Stages.Take(at).Contains(from), $"{instruction.Stage} copies from {from}, which is not an earlier stage");
        }

        // The silo's build embeds the dashboard's npm libraries; the publish stages bring them from the Node.js stage.
        foreach (var stage in new[] { "publish-cpu", "publish-gpu" })
        {
            Assert.Contains(dockerfile.Copies(), c => c.Instruction.Stage == stage && c.From == "dashboard");
        }

        Assert.False(DockerIgnore.Load().IsIncluded("src/TokenGrid.Silo/Dashboard/node_modules/chart.js/package.json"));
        Assert.Equal("publish-cpu", dockerfile.Copies().Single(c => c.Instruction.Stage == "cpu" && c.From is not null).From);
        Assert.Equal("publish-gpu", dockerfile.Copies().Single(c => c.Instruction.Stage == "gpu" && c.From is not null).From);
        string Publish(string stage) => dockerfile.Of(stage).Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;
        string Restore(string stage) => dockerfile.Of(stage).Single(i => i.Arguments.Contains("dotnet restore", StringComparison.Ordinal)).Arguments;
        foreach (var (stage, flavor) in new[] { ("publish-gpu", "gpu"), ("publish-cpu", "cpu") })
        {
            // Restore and publish name the same ONNX Runtime flavor, or publish would want packages restore never fetched.
            Assert.Contains($"-p:OnnxRuntimeFlavor={flavor}", Publish(stage), StringComparison.Ordinal);
            Assert.Contains($"-p:OnnxRuntimeFlavor={flavor}", Restore(stage), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_images_and_the_sdk_container_settings_agree_with_each_other_and_the_manifests()
    {
        var dockerfile = DockerfileModel.Load();
        var cpu = await ContainerSettingsAsync(gpu: false);
        var gpu = await ContainerSettingsAsync(gpu: true);
        var rendered = await K8sTools.RenderAsync("base");

        foreach (var stage in new[] { "cpu", "gpu" })
        {
            var profile = dockerfile.Env(stage, "TOKENGRID_PROFILE");
            Assert.Equal(EnvironmentOf(cpu)["TOKENGRID_PROFILE"], profile);
            Assert.True(File.Exists(Repository.PathOf($"silo-config/{profile}.json")), $"the image's profile {profile} is not in silo-config/");
            Assert.Equal((string?)cpu["Properties"]!["ContainerUser"], dockerfile.Of(stage).Last(i => i.Keyword == "USER").Arguments);
            var exposed = dockerfile.Of(stage).Single(i => i.Keyword == "EXPOSE").Arguments.Split(' ').Select(int.Parse).Order();
            Assert.Equal(Ports(cpu), exposed);
        }

        Assert.Equal("gpu", (string?)gpu["Properties"]!["ContainerImageTag"]);
        Assert.Equal("cpu", (string?)cpu["Properties"]!["ContainerImageTag"]);
        Assert.Equal(dockerfile.GlobalArgs["CUDA_RUNTIME_IMAGE"], (string?)gpu["Properties"]!["ContainerBaseImage"]);
        Assert.Equal(EnvironmentOf(cpu), EnvironmentOf(gpu));

        // The pods run as the image's user and expose the image's ports.
        Assert.Equal(int.Parse((string)cpu["Properties"]!["ContainerUser"]!, System.Globalization.CultureInfo.InvariantCulture), (int)rendered.PodSpec["securityContext"]!["runAsUser"]!);
        var podPorts = rendered.Silo["ports"]!.AsArray().Select(p => (int)p!["containerPort"]!).Order();
        Assert.Equal(Ports(cpu), podPorts);
    }

    private static List<string> ProjectClosure(string project)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (!found.Add(next))
            {
                continue;
            }

            var folder = Path.GetDirectoryName(Repository.PathOf(next))!;
            foreach (var reference in XDocument.Load(Repository.PathOf(next)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(folder, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(Repository.Root, full).Replace('\\', '/'));
            }
        }

        return [.. found];
    }

    /// <summary>The container settings as MSBuild evaluates them (what "dotnet publish -t:PublishContainer" uses).</summary>
    private static async Task<JsonObject> ContainerSettingsAsync(bool gpu)
    {
        var result = await ProcessRunner.RunAsync("dotnet",
        [
            "msbuild", Repository.PathOf(SiloProject), $"-p:OnnxRuntimeFlavor={(gpu ? "gpu" : "cpu")}",
            "-getProperty:ContainerUser", "-getProperty:ContainerImageTag", "-getProperty:ContainerBaseImage",
            "-getProperty:ContainerRepository", "-getItem:ContainerEnvironmentVariable", "-getItem:ContainerPort",
        ], TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.All);
        return JsonNode.Parse(result.Output)!.AsObject();
    }

    private static Dictionary<string, string> EnvironmentOf(JsonObject settings) =>
        settings["Items"]!["ContainerEnvironmentVariable"]!.AsArray().ToDictionary(i => (string)i!["Identity"]!, i => (string)i!["Value"]!);

    private static IEnumerable<int> Ports(JsonObject settings) =>
        settings["Items"]!["ContainerPort"]!.AsArray().Select(i => int.Parse((string)i!["Identity"]!, System.Globalization.CultureInfo.InvariantCulture)).Order();
}
