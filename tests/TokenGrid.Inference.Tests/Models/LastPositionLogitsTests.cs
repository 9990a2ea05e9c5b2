using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.DemoModel.Onnx;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>
/// Prefill's logits at the last position only: the rewritten graph gives the engine the same tokens and the same log
/// probabilities, bit for bit, as the graph as exported; a graph the walk does not recognise is left as it is, with why.
/// </summary>
public sealed class LastPositionLogitsTests
{
    public static TheoryData<string> Variants() => ["default", "float16 logits", "merged", "inline weights", "combined cache"];

    private static DemoModelSpec Spec(string variant) => variant switch
    {
        "default" => DemoModels.Small,
        "float16 logits" => DemoModels.Small with { LogitsPrecision = TensorPrecision.Float16 },
        "merged" => DemoModels.Small with { UseCacheBranch = true },
        "inline weights" => DemoModels.Small with { ExternalData = false },
        "combined cache" => DemoModels.Small with { KvLayout = KvCacheLayout.CombinedPast },
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task The_rewritten_graph_generates_what_the_exported_one_does(string variant)
    {
        var directory = DemoModels.Get(Spec(variant));
        using var rewritten = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        using var exported = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, LastPositionLogits = false });
        Assert.Null(rewritten.EveryPositionLogitsReason);
        Assert.Equal("turned off", exported.EveryPositionLogitsReason);

        // Prompts of different lengths in one prefill group (left-padded rows), several chunks long.
        var prompts = new[] { 37, 90, 5 }.Select(n => Enumerable.Range(0, n).Select(i => ((i * 7919) + n) % 50_000).ToArray()).ToArray();
        var expected = await GenerateAsync(exported, prompts);
        var actual = await GenerateAsync(rewritten, prompts);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Tokens, actual[i].Tokens);
            Assert.Equal(expected[i].Logprobs, actual[i].Logprobs);
        }
    }

    [Fact]
    public void Logits_that_another_node_also_reads_are_left_as_they_are()
    {
        // float16 logits: MatMul → Cast → logits. Exposing the MatMul's output as well gives it a second reader.
        var model = Parse(Spec("float16 logits"));
        var cast = model.Graph.Node.Single(n => n.Output.Contains("logits"));
        model.Graph.Output.Add(new ValueInfoProto { Name = cast.Input[0] });
        var before = model.Clone();

        Assert.Contains("other consumers", LastPositionLogits.Rewrite(model));
        Assert.Equal(before, model);
    }

    [Fact]
    public void A_head_that_is_not_a_matmul_is_left_as_it_is()
    {
        var model = Parse(Spec("default"));
        model.Graph.Node.Single(n => n.Output.Contains("logits")).OpType = "Gemm";
        var before = model.Clone();

        Assert.Contains("stopped at Gemm", LastPositionLogits.Rewrite(model));
        Assert.Equal(before, model);
    }

    [Fact]
    public void A_graph_without_the_logits_output_is_left_as_it_is()
    {
        var model = Parse(Spec("default"));
        var before = model.Clone();
        Assert.Contains("no producing node", LastPositionLogits.Rewrite(model, "scores"));
        Assert.Equal(before, model);
    }

    private static ModelProto Parse(DemoModelSpec spec)
    {
        using var stream = File.OpenRead(Path.Combine(DemoModels.Get(spec), DemoModelBuilder.ModelFileName));
        return ModelProto.Parser.ParseFrom(stream);
    }

    private static async Task<List<(int[] Tokens, float[] Logprobs)>> GenerateAsync(DecoderModel model, int[][] prompts)
    {
        await using var engine = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 4, PrefillChunkTokens = 64, PrefixCacheTokens = 0 });
        var streams = prompts.Select(p => engine.Submit(new GenerationRequest
        {
            PromptTokens = p,
            MaxTokens = 6,
            IgnoreEndOfSequence = true,
            TopLogprobs = 3,
            Sampling = SamplingOptions.Greedy,
        }).Stream!).ToList();
        var results = new List<(int[], float[])>();
        foreach (var stream in streams)
        {
            var tokens = new List<int>();
            var logprobs = new List<float>();
            await foreach (var token in stream)
            {
                tokens.Add(token.TokenId);
                logprobs.Add(token.Logprobs!.Logprob);
                logprobs.AddRange(token.Logprobs.Top.Select(t => t.Logprob));
            }

            results.Add(([.. tokens], [.. logprobs]));
        }

        return results;
    }
}
