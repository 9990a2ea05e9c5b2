using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Silo.Commands;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A transformers.js / onnx-community folder (<c>config.json</c>, <c>generation_config.json</c> and the tokenizer at the
/// root, graphs under <c>onnx/</c>: <c>model.onnx</c> and a <c>model_q4.onnx</c> of other weights) is served as it is:
/// <c>onnx/model.onnx</c> by default, another variant through the model's <c>ModelFile</c> setting (or
/// <c>--model-file</c>), and its generation_config.json's repetition penalty is a default like its temperature.
/// </summary>
public sealed class ModelFolderLayoutTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-layouts-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Models_check_reads_onnx_model_onnx_and_another_variant_with_model_file()
    {
        var folder = OnnxCommunityFolder("oc");

        var (code, output, error) = await RunAsync("models", "check", folder, "--max-tokens", "1", "--provider", "cpu");
        Assert.True(code == 0, error);
        Assert.Contains("decoder:    onnx/model.onnx (external weights: model.onnx.data)", output);
        Assert.Contains("repetition_penalty 1.05 (a request's own values win)", output);
        Assert.DoesNotContain("ignored", output);

        (code, output, error) = await RunAsync("models", "check", folder, "--model-file", "onnx/model_q4.onnx", "--max-tokens", "1", "--provider", "cpu");
        Assert.True(code == 0, error);
        Assert.Contains("decoder:    onnx/model_q4.onnx (weights inline)", output);
        Assert.Contains("read from:  the graph's inputs and outputs, with config.json", output);
    }

    [Fact]
    public async Task Models_check_on_several_variants_and_no_model_onnx_names_the_files_and_the_setting()
    {
        var folder = OnnxCommunityFolder("two");
        File.Delete(Path.Combine(folder, "onnx", "model.onnx"));
        File.Copy(Path.Combine(folder, "onnx", "model_q4.onnx"), Path.Combine(folder, "onnx", "model_fp16.onnx"));

        var (code, _, error) = await RunAsync("models", "check", folder, "--provider", "cpu");
        Assert.Equal(1, code);
        Assert.StartsWith("not servable: ", error);
        Assert.Contains("several .onnx files (onnx/model_fp16.onnx, onnx/model_q4.onnx)", error);
        Assert.Contains("TokenGrid:Models:Entries:N:ModelFile", error);
    }

    [Fact]
    public async Task Generate_picks_the_variant_model_file_names()
    {
        var folder = OnnxCommunityFolder("oc");
        var (code, byDefault, error) = await RunAsync("generate", "The token office", "--model", folder, "--max-tokens", "6", "--provider", "cpu");
        Assert.True(code == 0, error);
        (code, var q4, error) = await RunAsync("generate", "The token office", "--model", folder, "--model-file", "onnx/model_q4.onnx", "--max-tokens", "6", "--provider", "cpu");
        Assert.True(code == 0, error);
        Assert.NotEqual(byDefault, q4);
    }

    [Fact]
    public void A_request_without_a_repetition_penalty_or_min_p_gets_the_models_own_and_its_own_values_win()
    {
        var folder = OnnxCommunityFolder("oc");
        var catalog = new ModelCatalog(
            Microsoft.Extensions.Options.Options.Create(new ModelCatalogOptions { Entries = [new ModelEntry { Name = "oc", Directory = folder }] }), NullLogger<ModelCatalog>.Instance);
        Assert.Empty(catalog.Failures);
        var planner = new GenerationPlanner(catalog, Microsoft.Extensions.Options.Options.Create(new ApiOptions()));

        var defaults = planner.ForPrompt(new GenerationFields { Model = "oc", MaxTokens = 2 }, "Hello", null).Sampling;
        Assert.Equal((0.7f, 0.8f, 20, 1.05f, 0.05f), (defaults.Temperature, defaults.TopP, defaults.TopK, defaults.RepetitionPenalty, defaults.MinP));

        var own = planner.ForPrompt(new GenerationFields { Model = "oc", MaxTokens = 2, RepetitionPenalty = 1f, MinP = 0f }, "Hello", null).Sampling;
        Assert.Equal((1f, 0f), (own.RepetitionPenalty, own.MinP));
    }

    [Fact]
    public void An_output_that_is_one_json_value_takes_no_template_stops_and_refuses_the_requests()
    {
        // A template stop's text inside the value (a string field holding it) would only cut the value short, and the
        // output ends when the value does anyway.
        var folder = OnnxCommunityFolder("oc");
        var catalog = new ModelCatalog(
            Microsoft.Extensions.Options.Options.Create(new ModelCatalogOptions { Entries = [new ModelEntry { Name = "oc", Directory = folder }] }), NullLogger<ModelCatalog>.Instance);
        var planner = new GenerationPlanner(catalog, Microsoft.Extensions.Options.Options.Create(new ApiOptions()));
        JsonNode[] messages = [new JsonObject { ["role"] = "user", ["content"] = "Hi" }];
        var json = JsonDocument.Parse("""{"type":"json_object"}""").RootElement;

        Assert.NotEmpty(planner.ForChat(new GenerationFields { Model = "oc", MaxTokens = 4 }, messages).TemplateStop);
        Assert.Empty(planner.ForChat(new GenerationFields { Model = "oc", MaxTokens = 4, ResponseFormat = json }, messages).TemplateStop);
        var refused = Assert.Throws<ApiProblemException>(() =>
            planner.ForChat(new GenerationFields { Model = "oc", MaxTokens = 4, ResponseFormat = json, Stop = JsonDocument.Parse("""["}"]""").RootElement }, messages));
        Assert.Contains("stop", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_silo_serves_onnx_model_onnx_by_default_and_the_variant_a_model_file_setting_names()
    {
        var folder = OnnxCommunityFolder("oc");
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Models:Entries:0:Name"] = "oc",
            ["TokenGrid:Models:Entries:0:Directory"] = folder,
            ["TokenGrid:Models:Entries:1:Name"] = "oc-q4",
            ["TokenGrid:Models:Entries:1:Directory"] = folder,
            ["TokenGrid:Models:Entries:1:ModelFile"] = "onnx/model_q4.onnx",
        });

        using var tenant = server.Client(TokenGridServer.DemoKey);
        var texts = new Dictionary<string, string>();
        foreach (var model in new[] { "oc", "oc-q4" })
        {
            var completion = await (await tenant.PostJsonAsync("v1/completions",
                new { model, prompt = "The token office", max_tokens = 6, temperature = 0, ignore_eos = true })).ReadJsonAsync();
            Assert.Equal(6, (int)completion["usage"]!["completion_tokens"]!);
            texts[model] = (string)completion["choices"]![0]!["text"]!;
        }

        // Different weights: the node loaded the file the setting names, not the folder's default.
        Assert.NotEqual(texts["oc"], texts["oc-q4"]);
    }

    /// <summary>
    /// The folder as onnx-community publishes one: Qwen 2.5's generation_config.json values (plus a min_p), a GPT-2
    /// config.json of the demo graph's shape, the demo tokenizer at the root, <c>onnx/model.onnx</c> with its external
    /// weights and <c>onnx/model_q4.onnx</c> (the same shape, other weights, inline).
    /// </summary>
    [Fact]
    public void An_empty_prompt_for_a_model_without_a_beginning_of_sequence_token_is_400_naming_prompt_and_saying_why()
    {
        // This folder's config.json names an end-of-sequence token and no beginning-of-sequence one.
        var folder = OnnxCommunityFolder("nobos");
        var catalog = new ModelCatalog(
            Microsoft.Extensions.Options.Options.Create(new ModelCatalogOptions { Entries = [new ModelEntry { Name = "nobos", Directory = folder }] }), NullLogger<ModelCatalog>.Instance);
        Assert.Empty(catalog.Failures);
        var planner = new GenerationPlanner(catalog, Microsoft.Extensions.Options.Options.Create(new ApiOptions()));
        var fields = new GenerationFields { Model = "nobos", MaxTokens = 2 };
        Assert.True(catalog.TryGet("nobos", out var model));
        Assert.Null(model.BeginningOfSequence);

        foreach (var (text, tokens, which) in new (string?, int[]?, string)[] { ("", null, "prompt"), (null, [], "prompt") })
        {
            var refused = Assert.Throws<ApiProblemException>(() => planner.ForPrompt(fields, text, tokens)).Problem;
            Assert.Equal((400, "prompt"), (refused.Status, refused.Param));
            Assert.StartsWith($"{which} is empty, and model 'nobos' names no beginning-of-sequence token", refused.Detail, StringComparison.Ordinal);
        }

        var second = Assert.Throws<ApiProblemException>(() => planner.ForPrompts(fields, [("Hello", null), ("", null)])).Problem;
        Assert.Equal((400, "prompt"), (second.Status, second.Param));
        Assert.StartsWith("prompt[1] is empty", second.Detail, StringComparison.Ordinal);
        Assert.Equal(2, planner.ForPrompts(fields, [("Hello", null), ("Hi", null)]).Count);
    }

    private string OnnxCommunityFolder(string name)
    {
        var spec = DemoModelSpec.Default with { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 128 };
        var built = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), spec);
        var variant = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), spec with { Seed = spec.Seed + 1, ExternalData = false });

        var folder = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        var onnx = Directory.CreateDirectory(Path.Combine(folder, "onnx")).FullName;
        File.Copy(Path.Combine(built, "model.onnx"), Path.Combine(onnx, "model.onnx"));
        File.Copy(Path.Combine(built, "model.onnx.data"), Path.Combine(onnx, "model.onnx.data"));
        File.Copy(Path.Combine(variant, "model.onnx"), Path.Combine(onnx, "model_q4.onnx"));
        File.Copy(Path.Combine(built, "tiktoken.json"), Path.Combine(folder, "tiktoken.json"));
        File.WriteAllText(Path.Combine(folder, "config.json"), new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["n_embd"] = spec.HiddenSize,
            ["n_head"] = spec.Heads,
            ["n_layer"] = spec.Layers,
            ["n_positions"] = spec.ContextLength,
            ["vocab_size"] = spec.VocabSize,
            ["eos_token_id"] = spec.VocabSize - 1,
        }.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), new JsonObject
        {
            ["do_sample"] = true,
            ["eos_token_id"] = spec.VocabSize - 1,
            ["min_p"] = 0.05,
            ["repetition_penalty"] = 1.05,
            ["temperature"] = 0.7,
            ["top_k"] = 20,
            ["top_p"] = 0.8,
        }.ToJsonString());
        return folder;
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SiloCommands.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
