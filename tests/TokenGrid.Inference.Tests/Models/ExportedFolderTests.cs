using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>
/// Model folders written the way export tools write them load and generate what the graph computes: greedy
/// output through the engine equals raw cached decoding of the same graph, and, for float32 graphs, full
/// recomputation.
/// </summary>
public sealed class ExportedFolderTests
{
    private static readonly Dictionary<string, (DemoModelSpec Spec, Func<DemoModelSpec, string> Folder, string ModelFile)> s_folders = new()
    {
        ["genai-minimal"] = (DemoModels.Tiny, s => ModelFolders.WithGenAiConfig(s, ModelFolders.GenAiMinimalConfig(s)), "model.onnx"),
        ["genai-minimal-gqa-no-position-ids"] = (DemoVariants.Spec("grouped-query") with { PositionIdsInput = false },
            s => ModelFolders.WithGenAiConfig(s, ModelFolders.GenAiMinimalConfig(s)), "model.onnx"),
        ["genai-minimal-combined-mqa"] = (DemoVariants.Spec("multi-query-combined"), s => ModelFolders.WithGenAiConfig(s, ModelFolders.GenAiMinimalConfig(s)), "model.onnx"),
        ["genai-builder-gqa-f16-int32"] = (DemoVariants.Spec("grouped-query") with { KvPrecision = TensorPrecision.Float16, LogitsPrecision = TensorPrecision.Float16, IdType = TokenIdType.Int32 },
            s => ModelFolders.WithGenAiConfig(s, ModelFolders.GenAiBuilderConfig(s)), "model.onnx"),
        ["optimum-llama-gqa"] = (DemoVariants.Spec("grouped-query"),
            s => ModelFolders.Optimum(s, ModelFolders.LlamaConfig(s), ModelFolders.ChatGenerationConfig(s)), "model.onnx"),
        ["optimum-merged-gqa-f16"] = (DemoVariants.Spec("grouped-query") with { UseCacheBranch = true, KvPrecision = TensorPrecision.Float16 },
            s => ModelFolders.Optimum(s, ModelFolders.LlamaConfig(s), ModelFolders.ChatGenerationConfig(s), "decoder_model_merged.onnx"), "decoder_model_merged.onnx"),
        ["optimum-gpt2-inline"] = (DemoModels.Tiny with { ExternalData = false },
            s => ModelFolders.Optimum(s, ModelFolders.Gpt2Config(s)), "model.onnx"),
        // transformers.js: onnx/model.onnx is chosen over the other variants there (a graph of other weights).
        ["onnx-community-gqa"] = (DemoVariants.Spec("grouped-query"),
            s => ModelFolders.OnnxCommunity(s, ModelFolders.LlamaConfig(s), ModelFolders.ChatGenerationConfig(s), ("model_q4.onnx", OtherWeights(s))), "onnx/model.onnx"),
    };

    public static TheoryData<string> Names => [.. s_folders.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task An_exported_folder_loads_and_generates_what_the_graph_computes(string name)
    {
        var (spec, folder, modelFile) = s_folders[name];
        var directory = folder(spec);
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(directory);
        var (tokens, _, result) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 10)));

        using var session = new InferenceSession(Path.Combine(directory, modelFile));
        Assert.Equal(CachedGreedyLoop.Run(session, prompt, 10), tokens);
        if (spec is { KvPrecision: TensorPrecision.Float32, LogitsPrecision: TensorPrecision.Float32 })
        {
            Assert.Equal(ReferenceDecoder.Greedy(session, prompt, 10), tokens);
        }

        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(spec.KeyValueHeads, run.Model.Config.KvHeads);
        Assert.Equal(spec.PositionIdsInput ? "position_ids" : null, run.Model.Signature.PositionIds);
        Assert.Equal(spec.UseCacheBranch ? "use_cache_branch" : null, run.Model.Signature.UseCacheBranch);
    }

    [Fact]
    public async Task The_model_file_setting_serves_the_variant_it_names_and_keeps_reading_config_json()
    {
        var spec = DemoVariants.Spec("grouped-query");
        var directory = ModelFolders.OnnxCommunity(spec, ModelFolders.LlamaConfig(spec), ModelFolders.ChatGenerationConfig(spec), ("model_q4.onnx", OtherWeights(spec)));
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(directory, load: new ModelLoadOptions { ModelFile = "onnx/model_q4.onnx" });
        var (tokens, _, _) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 10)));

        using var chosen = new InferenceSession(Path.Combine(directory, "onnx", "model_q4.onnx"));
        using var other = new InferenceSession(Path.Combine(directory, "onnx", "model.onnx"));
        Assert.Equal(CachedGreedyLoop.Run(chosen, prompt, 10), tokens);
        Assert.NotEqual(CachedGreedyLoop.Run(other, prompt, 10), tokens);
        var config = run.Model.Config;
        Assert.Equal(Path.Combine(directory, "onnx", "model_q4.onnx"), config.ModelPath);
        Assert.Equal(("llama", 256, 998), (config.ModelType, config.ContextLength, config.BosTokenId));
        Assert.Equal([999, 997, 996], config.EosTokenIds);
        Assert.Empty(run.Model.LoadNotes);
    }

    /// <summary>The same shape as <paramref name="spec"/> with other weights, inline: a second variant of one model.</summary>
    private static DemoModelSpec OtherWeights(DemoModelSpec spec) => spec with { Seed = spec.Seed + 1, ExternalData = false };

    [Fact]
    public async Task A_sequence_batched_with_others_in_a_merged_grouped_query_model_generates_what_it_does_alone()
    {
        var spec = DemoVariants.Spec("grouped-query") with { UseCacheBranch = true };
        var directory = ModelFolders.Optimum(spec, ModelFolders.LlamaConfig(spec), modelFile: "decoder_model_merged.onnx");
        int[][] prompts = [[5, 9, 13], [7], [100, 200, 300, 400, 500, 600, 700], [42, 43]];
        using var session = new InferenceSession(Path.Combine(directory, "decoder_model_merged.onnx"));
        await using var run = EngineRun.Start(directory);
        var streams = prompts.Select(p => EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(p, 12)))).ToList();
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(ReferenceDecoder.Greedy(session, prompts[i], 12), (await streams[i]).Tokens);
        }
    }
}
