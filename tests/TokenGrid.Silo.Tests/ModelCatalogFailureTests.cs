using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A model folder that cannot be read does not take the silo down: the other models serve, <c>/v1/models</c> leaves it
/// out, and the admin API and <c>/metrics</c> show it with the reason. A silo that can read no model is not ready.
/// </summary>
public sealed class ModelCatalogFailureTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-bad-models-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Bad_folders_are_reported_and_the_other_models_serve()
    {
        var badJson = Folder("bad-json", ("genai_config.json", "{ \"model\": "));
        var empty = Folder("empty");
        var garbage = Folder("garbage", ("model.onnx", "this is not an ONNX graph"));
        await using var server = await TokenGridServer.StartAsync(Settings(("demo", "demo"), ("bad-json", badJson), ("empty", empty), ("garbage", garbage)));

        using var tenant = server.Client(TokenGridServer.DemoKey);
        var listed = (await (await tenant.GetAsync("v1/models")).ReadJsonAsync())["data"]!.AsArray().Select(m => (string)m!["id"]!).ToList();
        Assert.Equal(["demo"], listed);
        Assert.Equal(HttpStatusCode.NotFound, (await tenant.PostJsonAsync("v1/completions", new { model = "empty", prompt = "Hi", max_tokens = 2 })).StatusCode);
        var completion = await (await tenant.PostJsonAsync("v1/completions", new { model = "demo", prompt = "Hi", max_tokens = 2, ignore_eos = true })).ReadJsonAsync();
        Assert.Equal(2, (int)completion["usage"]!["completion_tokens"]!);

        using var admin = server.Client(TokenGridServer.AdminKey);
        var models = (await (await admin.GetAsync("admin/models")).ReadJsonAsync())["data"]!.AsArray().ToDictionary(m => (string)m!["name"]!, m => m!.AsObject());
        Assert.Equal("served", (string)models["demo"]["status"]!);
        AssertFailed(models["bad-json"], "invalid_model", "genai_config.json");
        AssertFailed(models["empty"], "invalid_model", "has no .onnx file");
        AssertFailed(models["garbage"], "onnx_runtime", "");

        using var anonymous = server.Client(null);
        var metrics = await anonymous.GetStringAsync("metrics");
        var failures = metrics.Split('\n').Where(l => l.StartsWith("tokengrid_model_load_failures{", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, l => l.Contains("model=\"bad-json\"") && l.Contains("reason=\"invalid_model\"") && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(failures, l => l.Contains("model=\"garbage\"") && l.Contains("reason=\"onnx_runtime\""));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_silo_that_can_read_no_model_starts_but_is_not_ready()
    {
        var empty = Folder("empty");
        await using var server = await TokenGridServer.StartAsync(Settings(("only", empty)));

        using var anonymous = server.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/startup")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("health/ready")).StatusCode);

        using var tenant = server.Client(TokenGridServer.DemoKey);
        Assert.Empty((await (await tenant.GetAsync("v1/models")).ReadJsonAsync())["data"]!.AsArray());
    }

    private static void AssertFailed(JsonObject model, string code, string reasonPart)
    {
        Assert.Equal("failed", (string)model["status"]!);
        Assert.Equal(code, (string)model["code"]!);
        var reason = (string)model["reason"]!;
        Assert.Contains(reasonPart, reason);
        Assert.DoesNotContain('\n', reason);
        Assert.DoesNotContain("   at ", reason);
    }

    private string Folder(string name, params (string File, string Text)[] files)
    {
        var directory = Path.Combine(_root, name);
        Directory.CreateDirectory(directory);
        foreach (var (file, text) in files)
        {
            File.WriteAllText(Path.Combine(directory, file), text);
        }

        return directory;
    }

    private static Dictionary<string, string> Settings(params (string Name, string Directory)[] models)
    {
        var settings = new Dictionary<string, string>
        {
            ["TokenGrid:Models:DemoSpec:Layers"] = "2",
            ["TokenGrid:Models:DemoSpec:HiddenSize"] = "64",
        };
        for (var i = 0; i < models.Length; i++)
        {
            settings[$"TokenGrid:Models:Entries:{i}:Name"] = models[i].Name;
            settings[$"TokenGrid:Models:Entries:{i}:Directory"] = models[i].Directory;
        }

        return settings;
    }
}
