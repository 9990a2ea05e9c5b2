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

    [Fact]
    public async Task An_engine_whose_sequences_have_all_ended_reports_an_empty_batch()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        for (var i = 0; i < 10; i++)
        {
            // Two sequences share decode steps; the batch they leave behind must not be reported once both are out.
            var streams = new[] { run.Submit(EngineRun.Greedy([5, 9, 13 + i], 12)), run.Submit(EngineRun.Greedy([7, 11 + i], 20)) };
            foreach (var stream in streams)
            {
                Assert.Equal(FinishReason.Length, (await EngineRun.ReadAllAsync(stream)).Result.FinishReason);
            }

            var stats = run.Engine.Statistics.Snapshot();
            Assert.True(stats.DecodeSteps > 0);
            Assert.Equal(0, stats.ActiveSequences);
            Assert.Equal(0, stats.LastBatchSize);
            Assert.Equal(0, stats.LastDecodeRuns);
        }
    }
}
