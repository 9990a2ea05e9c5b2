using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// The running batch's cache gives back what it outgrew: a batch that shrank keeps only what it needs, and an idle engine
/// holds no cache. On the CPU the buffers are native memory outside ONNX Runtime's arena (which keeps what it is given), so
/// what <see cref="CacheMemory.AllocatedBytes"/> (<c>tokengrid_node_kv_cache_allocated_bytes</c>) counts is what is held.
/// </summary>
public sealed class CacheReleaseTests
{
    [Fact]
    public async Task A_batch_that_shrank_to_one_short_row_gives_back_the_memory_the_long_batch_took()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny, new EngineOptions { PrefixCacheTokens = 0 });

        // Eight rows grow to 203 positions: the buffers grow past several sizes on the way.
        var prompts = Enumerable.Range(0, 8).Select(i => new[] { 5 + i, 9, 13 }).ToArray();
        var batch = prompts.Select(p => EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(p, 200)))).ToArray();
        await Task.WhenAll(batch);
        var cache = run.Engine.Runner.Cache;
        var grown = cache.PeakBytes;
        Assert.True(grown >= KvBudget.Copies * 8 * 200 * cache.BytesPerPosition, $"the batch of eight took {grown} bytes");

        // Then one short row alone: its steps run in buffers sized for it, and the long batch's are gone.
        var (tokens, _, _) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy([7, 11, 17], 4)));
        Assert.Equal(4, tokens.Length);
        // Room for twice the row's 8 positions and the lanes' alignment in each buffer (the engine may have emptied the
        // batch since: 0 then).
        var oneRow = KvBudget.Copies * ((2 * 16 * cache.BytesPerPosition) + (run.Model.Signature.PastNames.Count * 1024L));
        Assert.True(oneRow * 8 < grown);
        Assert.InRange(cache.CapacityBytes, 0, oneRow);
        Assert.InRange(run.Engine.KvCacheBytes, 0, oneRow);
    }

    [Fact]
    public void An_empty_batch_holds_no_cache_and_the_count_of_its_memory_goes_to_zero()
    {
        using var model = DecoderModel.Load(DemoModels.Get(DemoModels.Tiny), new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        using var runner = new DecoderRunner(model);
        int[] prompt = [5, 9, 13];
        RunnerInputs.Prefill(runner, prompt);
        var empty = runner.EmptyPast(1);
        var presents = runner.RunPrefill(1, prompt.Length, prompt.Length, empty, logitsToHost: true);
        runner.Cache.Relayout([new RowSource(true, 0, prompt.Length)], [.. presents.Skip(1)], 1, prompt.Length);
        DecoderRunner.DisposeAll(empty);
        DecoderRunner.DisposeAll(presents);
        for (var step = 0; step < 40; step++)
        {
            RunnerInputs.Decode(runner, 7 + step, runner.Cache.Length);
            runner.RunDecode();
        }

        Assert.True(runner.Cache.Allocations > 2, "the buffers never grew past their first size");
        Assert.Equal(runner.Cache.CapacityBytes, runner.Memory.AllocatedBytes);
        Assert.True(runner.Memory.AllocatedBytes > 0);

        runner.Cache.Relayout([], null, 0, 0);

        Assert.Equal(0, runner.Cache.CapacityBytes);
        Assert.Equal(0, runner.Memory.AllocatedBytes);
        Assert.All(runner.Cache.Pointers, p => Assert.Equal(IntPtr.Zero, p));
    }
}
