using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// An engine that falls idle gives the C heap's free memory back (glibc's <c>malloc_trim</c>): after a run of short
/// prompts a silo otherwise kept about 0.2 GB that its work had freed (docs/benchmarks.md, stop 53). Once per stretch of
/// work, not at every wake-up of an idle engine.
/// </summary>
public sealed class IdleHeapTrimTests
{
    [Fact]
    public async Task An_engine_that_falls_idle_trims_the_heap_once_per_stretch_of_work()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny, new EngineOptions { PrefixCacheTokens = 0 });
        var idled = new SemaphoreSlim(0);
        run.Engine.Idled = () => idled.Release();
        var trims = run.Engine.Statistics.HeapTrims;

        var batch = Enumerable.Range(0, 4).Select(i => EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy([5 + i, 9, 13], 24)))).ToArray();
        await Task.WhenAll(batch);
        Assert.True(await idled.WaitAsync(TimeSpan.FromSeconds(30)), "the engine never fell idle after its batch");
        Assert.True(NativeHeap.IsAvailable, "malloc_trim could not be called on this Linux (not glibc?)");
        Assert.Equal(trims + 1, run.Engine.Statistics.HeapTrims);
        Assert.Equal(0, run.Engine.KvCacheBytes);

        // A second stretch of work trims again; the idle loop's own wake-ups in between do not.
        var (tokens, _, _) = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy([7, 11, 17], 4)));
        Assert.Equal(4, tokens.Length);
        Assert.True(await idled.WaitAsync(TimeSpan.FromSeconds(30)), "the engine never fell idle after the second request");
        Assert.Equal(trims + 2, run.Engine.Statistics.HeapTrims);
        Assert.Equal(0, idled.CurrentCount);
    }
}
