using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// The cache bound through <see cref="OrtIoBinding"/> lives in the session's own memory, and the re-layout
/// through ONNX Runtime's tensor copies (the path device memory takes) computes what the host re-layout does.
/// </summary>
public sealed class BoundCacheTests
{
    private static readonly EngineOptions s_deviceCopies = new() { CopyCacheThroughRuntime = true };

    [Fact]
    public void The_cache_is_allocated_by_the_sessions_allocator_in_the_memory_of_its_provider()
    {
        using var model = DecoderModel.Load(DemoModels.Get(DemoModels.Tiny), new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Auto });
        using var runner = new DecoderRunner(model);
        var expected = model.Provider == ExecutionProviderKind.Cuda ? OrtMemoryInfoDeviceType.GPU : OrtMemoryInfoDeviceType.CPU;
        Assert.Equal(expected, runner.CacheMemoryInfo.GetDeviceType());

        // A one-row prefill of three tokens, merged into the batch, then one decode step.
        int[] prompt = [5, 9, 13];
        RunnerInputs.Prefill(runner, prompt);

        var empty = runner.EmptyPast(1);
        var presents = runner.RunPrefill(1, prompt.Length, prompt.Length, empty, logitsToHost: true);
        try
        {
            AssertInCacheMemory(runner, empty);
            AssertInCacheMemory(runner, presents.Skip(1));
            Assert.Equal(OrtMemoryInfoDeviceType.CPU, presents[0].GetTensorMemoryInfo().GetDeviceType());
            runner.Cache.Relayout([new RowSource(true, 0, prompt.Length)], [.. presents.Skip(1)], 1, prompt.Length);
        }
        finally
        {
            DecoderRunner.DisposeAll(empty);
            DecoderRunner.DisposeAll(presents);
        }

        RunnerInputs.Decode(runner, 7, prompt.Length);

        runner.RunDecode();
        Assert.Equal(prompt.Length + 1, runner.Cache.Length);
        Assert.Equal(2 * model.Signature.PastNames.Count, runner.Cache.Storage.Count());
        AssertInCacheMemory(runner, runner.Cache.Storage);
        Assert.Equal(runner.LogitsWidth, runner.DecodeLogits(0).Length);
    }

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public async Task Every_variant_generates_the_same_tokens_with_the_cache_moved_by_runtime_copies(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(spec, s_deviceCopies);
        var (tokens, _, _) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 10)));

        using var session = new InferenceSession(Path.Combine(DemoModels.Get(spec), "model.onnx"));
        Assert.Equal(CachedGreedyLoop.Run(session, prompt, 10), tokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sequences_joining_leaving_and_cancelled_mid_batch_leave_the_others_exact(bool runtimeCopies)
    {
        int[][] prompts = [[5, 9, 13], [7], [100, 200, 300, 400, 500, 600, 700, 800, 900], [42, 43], [1, 2, 3, 4, 5, 6]];
        int[] lengths = [16, 4, 12, 7, 10];
        var options = new EngineOptions { CopyCacheThroughRuntime = runtimeCopies, PrefillChunkTokens = 8 };
        await using var run = EngineRun.Start(DemoModels.Tiny, options);

        // The first sequence runs when the rest join; one of them is cancelled after its first token,
        // and the others leave at different steps (different lengths).
        var first = run.Submit(EngineRun.Greedy(prompts[0], lengths[0]));
        await using var reader = first.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        var firstTokens = new List<int> { reader.Current.TokenId };
        using var cancel = new CancellationTokenSource();
        var cancelled = run.Submit(EngineRun.Greedy([3, 1, 4, 1, 5], 8000), cancel.Token);
        var rest = Enumerable.Range(1, prompts.Length - 1)
            .Select(i => EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompts[i], lengths[i])))).ToList();
        await using (var cancelledReader = cancelled.GetAsyncEnumerator())
        {
            Assert.True(await cancelledReader.MoveNextAsync());
            cancel.Cancel();
        }

        while (await reader.MoveNextAsync())
        {
            firstTokens.Add(reader.Current.TokenId);
        }

        var model = DemoModels.Get(DemoModels.Tiny);
        Assert.Equal(ReferenceDecoder.Greedy(model, prompts[0], lengths[0]), firstTokens);
        for (var i = 1; i < prompts.Length; i++)
        {
            Assert.Equal(ReferenceDecoder.Greedy(model, prompts[i], lengths[i]), (await rest[i - 1]).Tokens);
        }

        // On a loaded machine the tiny model can reach its context before the cancel lands; either way it left the batch
        // mid-run for the others, which is what this test checks.
        Assert.Contains((await cancelled.Completion).FinishReason, new[] { FinishReason.Cancelled, FinishReason.Length });
        Assert.True(run.Engine.Statistics.Snapshot().MeanBatchSize > 1, "the sequences never shared a decode step");
    }

    private static void AssertInCacheMemory(DecoderRunner runner, IEnumerable<OrtValue> values)
    {
        foreach (var value in values)
        {
            var info = value.GetTensorMemoryInfo();
            Assert.Equal(runner.CacheMemoryInfo.GetDeviceType(), info.GetDeviceType());
            Assert.Equal(runner.CacheMemoryInfo.Name, info.Name);
            Assert.Equal(runner.CacheMemoryInfo.Id, info.Id);
        }
    }
}
