using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// The engine's occupancy, which nodes report and capacity planners read, never counts a sequence whose caller already
/// has its result, whatever the decode thread still does after the step that ended it (caching its blocks, say).
/// </summary>
public sealed class EngineOccupancyTests
{
    [Fact]
    public async Task A_sequence_whose_result_is_out_is_no_longer_counted_active()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        for (var i = 0; i < 20; i++)
        {
            // Long enough that the end of each caches blocks of its prompt and reply after the step that ended it.
            var prompt = Enumerable.Range(0, 40).Select(t => ((t * 17) + (i * 101) + 3) % 997).ToArray();
            var result = (await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 20)))).Result;
            Assert.Equal(FinishReason.Length, result.FinishReason);
            Assert.Equal(0, run.Engine.Statistics.Snapshot().ActiveSequences);
        }
    }
}
