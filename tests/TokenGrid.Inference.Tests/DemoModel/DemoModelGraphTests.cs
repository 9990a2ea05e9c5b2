using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>The demo models run in ONNX Runtime: signatures, non-degenerate output, the cache path and the mask.</summary>
public sealed class DemoModelGraphTests
{
    private static readonly int[][] s_prompts = [[9906, 1917], [791, 4062, 14198, 39935, 35308], [40, 1093, 311, 3821, 1070, 11, 220]];

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public void Variant_loads_with_the_expected_inputs_and_outputs(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        using var session = Open(spec);
        var ids = spec.IdType == TokenIdType.Int64 ? TensorElementType.Int64 : TensorElementType.Int32;
        var kv = spec.KvPrecision == TensorPrecision.Float32 ? TensorElementType.Float : TensorElementType.Float16;
        var logits = spec.LogitsPrecision == TensorPrecision.Float32 ? TensorElementType.Float : TensorElementType.Float16;
        var combined = spec.KvLayout == KvCacheLayout.CombinedPast;
        var (h, hd) = (spec.KeyValueHeads, spec.HiddenSize / spec.Heads);

        List<(string Name, TensorElementType Type, int[] Dims)> inputs =
            [("input_ids", ids, [-1, -1]), ("attention_mask", ids, [-1, -1])];
        List<(string Name, TensorElementType Type, int[] Dims)> outputs = [("logits", logits, [-1, -1, spec.VocabSize])];
        if (spec.PositionIdsInput)
        {
            inputs.Add(("position_ids", ids, [-1, -1]));
        }

        if (spec.UseCacheBranch)
        {
            inputs.Add(("use_cache_branch", TensorElementType.Bool, [1]));
        }

        for (var i = 0; i < spec.Layers; i++)
        {
            string[] pasts = combined ? [$"past_{i}"] : [$"past_key_values.{i}.key", $"past_key_values.{i}.value"];
            int[] dims = combined ? [2, -1, h, -1, hd] : [-1, h, -1, hd];
            inputs.AddRange(pasts.Select(n => (n, kv, dims)));
            outputs.AddRange(pasts.Select(n => (CachedGreedyLoop.PresentName(n), kv, dims)));
        }

        Assert.Equal(inputs.Select(Describe), session.InputMetadata.Select(m => Describe((m.Key, m.Value.ElementDataType, m.Value.Dimensions))));
        Assert.Equal(outputs.Select(Describe), session.OutputMetadata.Select(m => Describe((m.Key, m.Value.ElementDataType, m.Value.Dimensions))));
        Assert.Equal(["batch_size", "sequence_length"], session.InputMetadata["input_ids"].SymbolicDimensions);
        Assert.Equal(["batch_size", "total_sequence_length"], session.InputMetadata["attention_mask"].SymbolicDimensions);

        static string Describe((string Name, TensorElementType Type, int[] Dims) m) => $"{m.Name}:{m.Type}[{string.Join(",", m.Dims)}]";
    }

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public void Variant_continues_each_prompt_differently_with_varied_tokens(string variant)
    {
        using var session = Open(DemoVariants.Spec(variant));
        AssertVariedAndPromptDependent(s_prompts.Select(p => ReferenceDecoder.Greedy(session, [.. p.Select(t => t % 1000)], 16)).ToList());
    }

    [Theory]
    [MemberData(nameof(DemoVariants.SameWeightNames), MemberType = typeof(DemoVariants))]
    public void Variants_of_the_same_weights_generate_the_same_tokens(string variant)
    {
        int[] prompt = [17, 400, 23, 999, 5];
        using var baseline = Open(DemoVariants.Spec("per-layer"));
        using var session = Open(DemoVariants.Spec(variant));
        Assert.Equal(ReferenceDecoder.Greedy(baseline, prompt, 12), ReferenceDecoder.Greedy(session, prompt, 12));
    }

    [Fact]
    public void Full_vocabulary_model_continues_each_prompt_differently_with_varied_tokens()
    {
        using var session = Open(DemoModels.Small);
        AssertVariedAndPromptDependent(s_prompts.Select(p => ReferenceDecoder.Greedy(session, p, 16)).ToList());
    }

    [Theory]
    [InlineData(KvCacheLayout.PerLayerKeyValue)]
    [InlineData(KvCacheLayout.CombinedPast)]
    public void Cached_decoding_matches_full_recomputation(KvCacheLayout layout)
    {
        using var session = Open(DemoModels.Small with { KvLayout = layout });
        foreach (var prompt in s_prompts)
        {
            Assert.Equal(ReferenceDecoder.Greedy(session, prompt, 16), CachedGreedyLoop.Run(session, prompt, 16));
        }
    }

    [Fact]
    public void Default_model_cached_decoding_matches_full_recomputation()
    {
        using var session = Open(DemoModelSpec.Default);
        var expected = ReferenceDecoder.Greedy(session, s_prompts[1], 16);
        Assert.Equal(expected, CachedGreedyLoop.Run(session, s_prompts[1], 16));
        Assert.True(expected.Distinct().Count() >= 8, $"degenerate continuation {string.Join(",", expected)}");
    }

    [Theory]
    [InlineData("float16-kv")]
    [InlineData("combined-f16-int32-no-position-ids")]
    [InlineData("grouped-query")]
    [InlineData("multi-query-combined")]
    [InlineData("merged-decoder")]
    [InlineData("merged-gqa-f16-int32-no-position-ids-inline")]
    public void Cached_decoding_matches_full_recomputation_for_other_signatures(string variant)
    {
        using var session = Open(DemoVariants.Spec(variant));
        int[] prompt = [17, 400, 23, 999, 5];
        Assert.Equal(ReferenceDecoder.Greedy(session, prompt, 16), CachedGreedyLoop.Run(session, prompt, 16));
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("combined-f16-int32-no-position-ids")]
    public void Model_config_reader_reads_what_the_builder_writes(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        var directory = DemoModels.Get(spec);
        using var session = Open(spec);
        var config = ModelConfigReader.Read(directory, Path.Combine(directory, "model.onnx"), session);

        var combined = spec.KvLayout == KvCacheLayout.CombinedPast;
        Assert.Equal(combined ? KvLayout.CombinedPast : KvLayout.PerLayerKeyValue, config.Io.Layout);
        Assert.Equal(spec.PositionIdsInput ? "position_ids" : null, DecoderSignature.Resolve(config, session).PositionIds);
        Assert.Equal(session.InputMetadata.Keys.Where(n => n.StartsWith("past", StringComparison.Ordinal)), config.Io.PastNames(config.Layers));
        Assert.Equal(session.OutputMetadata.Keys.Skip(1), config.Io.PresentNames(config.Layers));
        Assert.Equal((spec.Layers, spec.Heads, spec.HiddenSize / spec.Heads, spec.VocabSize, spec.ContextLength),
            (config.Layers, config.KvHeads, config.HeadSize, config.VocabSize, config.ContextLength));
        Assert.Equal([spec.VocabSize - 1], config.EosTokenIds);
    }

    private static InferenceSession Open(DemoModelSpec spec) => new(Path.Combine(DemoModels.Get(spec), "model.onnx"));

    private static void AssertVariedAndPromptDependent(IReadOnlyList<int[]> continuations)
    {
        foreach (var tokens in continuations)
        {
            Assert.True(tokens.Distinct().Count() >= 8, $"degenerate continuation {string.Join(",", tokens)}");
        }

        Assert.Equal(continuations.Count, continuations.Select(t => string.Join(",", t)).Distinct().Count());
    }
}
