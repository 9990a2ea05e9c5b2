using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>The engine computes what the model computes: cache, batching and layouts change nothing.</summary>
public sealed class EngineCorrectnessTests
{
    private static readonly string[] s_prompts =
    [
        "The token office opened its doors and",
        "Budgets are reserved at admission",
        "a",
        "GPU nodes report their throughput to the registry every second, and the scheduler reads it.",
    ];

    [Fact]
    public async Task Cached_greedy_generation_equals_full_recomputation()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        foreach (var prompt in s_prompts)
        {
            var ids = run.Model.Tokenizer.Encode(prompt);
            var (tokens, _, result) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(ids, 12)));
            Assert.Equal(ReferenceDecoder.Greedy(DemoModels.Get(DemoModels.Small), ids, 12), tokens);
            Assert.Equal(FinishReason.Length, result.FinishReason);
        }
    }

    [Fact]
    public async Task A_sequence_in_a_batch_of_mixed_length_neighbours_generates_what_it_generates_alone()
    {
        int[][] prompts = [[5, 9, 13], [7], [100, 200, 300, 400, 500, 600, 700, 800, 900], [42, 43], [1, 2, 3, 4, 5, 6]];
        await using var alone = EngineRun.Start(DemoModels.Tiny);
        var expected = new List<int[]>();
        foreach (var prompt in prompts)
        {
            expected.Add((await EngineRun.ReadAllAsync(alone.Submit(EngineRun.Greedy(prompt, 16)))).Tokens);
        }

        await using var batched = EngineRun.Start(DemoModels.Tiny);
        // The first sequence is running when the rest join: they join a busy batch mid-stream.
        var first = batched.Submit(EngineRun.Greedy(prompts[0], 16));
        await using var reader = first.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        var firstTokens = new List<int> { reader.Current.TokenId };
        var rest = prompts.Skip(1).Select(p => EngineRun.ReadAllAsync(batched.Submit(EngineRun.Greedy(p, 16)))).ToList();
        while (await reader.MoveNextAsync())
        {
            firstTokens.Add(reader.Current.TokenId);
        }

        Assert.Equal(expected[0], firstTokens);
        for (var i = 1; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i], (await rest[i - 1]).Tokens);
        }

        Assert.True(batched.Engine.Statistics.Snapshot().MeanBatchSize > 1, "the sequences never shared a decode step");
    }

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public async Task Every_layout_and_element_type_loads_and_generates_what_raw_cached_decoding_does(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(spec);
        var (tokens, _, result) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 10)));

        using var session = new InferenceSession(Path.Combine(DemoModels.Get(spec), "model.onnx"));
        Assert.Equal(CachedGreedyLoop.Run(session, prompt, 10), tokens);
        Assert.Equal(10, result.CompletionTokens);
    }

    [Theory]
    [MemberData(nameof(DemoVariants.ExactNames), MemberType = typeof(DemoVariants))]
    public async Task Float32_variants_generate_what_full_recomputation_does(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(spec);
        var (tokens, _, _) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 10)));
        Assert.Equal(ReferenceDecoder.Greedy(DemoModels.Get(spec), prompt, 10), tokens);
    }

    [Fact]
    public async Task A_prompt_longer_than_one_prefill_chunk_generates_what_it_does_unchunked()
    {
        var prompt = Enumerable.Range(0, 90).Select(i => (i * 37) % 1000).ToArray();
        await using var chunked = EngineRun.Start(DemoModels.Tiny, new EngineOptions { PrefillChunkTokens = 16 });
        var (tokens, _, _) = await EngineRun.ReadAllAsync(chunked.Submit(EngineRun.Greedy(prompt, 8)));
        Assert.Equal(ReferenceDecoder.Greedy(DemoModels.Get(DemoModels.Tiny), prompt, 8), tokens);
        Assert.True(chunked.Engine.Statistics.Snapshot().PrefillRuns >= 6);
    }
}
