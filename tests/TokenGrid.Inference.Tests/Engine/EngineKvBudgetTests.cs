using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// The running batch's key/value cache stays within the engine's budget (<see cref="EngineOptions.MaxKvCacheBytes"/>, or
/// the full batch at full context): sequences that would pass it wait their turn and are never refused, and the cache's
/// buffers never grow past it.
/// </summary>
public sealed class EngineKvBudgetTests
{
    [Fact]
    public async Task Sequences_beyond_the_key_value_budget_wait_in_the_queue_and_all_finish_as_without_it()
    {
        // Five sequences that may each reach 120 positions, under a budget of two of them (both copies).
        var prompts = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, 20).Select(t => ((t * 31) + (i * 7) + 1) % 997).ToArray()).ToArray();
        var unbounded = await RunAsync(new EngineOptions(), prompts, 100);
        var bytesPerPosition = unbounded.BytesPerPosition;
        var limit = KvBudget.Copies * 2 * 120 * bytesPerPosition;

        var bounded = await RunAsync(new EngineOptions { MaxKvCacheBytes = limit }, prompts, 100);

        Assert.Equal(limit, bounded.Limit);
        Assert.All(bounded.Results, r => Assert.Equal(FinishReason.Length, r.FinishReason));
        Assert.Equal(unbounded.Tokens, bounded.Tokens);
        Assert.InRange(bounded.Bytes, 1, limit + Slack(bounded));
        Assert.True(unbounded.Bytes > limit + Slack(bounded), $"the five together take {unbounded.Bytes} bytes, which the budget of {limit} must not allow");
    }

    [Fact]
    public async Task A_sequence_larger_than_the_budget_runs_alone_rather_than_being_refused()
    {
        var bytesPerPosition = (await RunAsync(new EngineOptions(), [[1, 2, 3]], 1)).BytesPerPosition;

        // A budget below one sequence's reach: each runs, one at a time.
        var run = await RunAsync(new EngineOptions { MaxKvCacheBytes = 10 * bytesPerPosition }, [[5, 9, 13], [7, 11, 17]], 40);

        Assert.All(run.Results, r => Assert.Equal(FinishReason.Length, r.FinishReason));
        Assert.All(run.Tokens, t => Assert.Equal(40, t.Length));
    }

    [Fact]
    public async Task The_cache_buffers_stop_growing_at_the_full_batch_at_full_context()
    {
        // Two rows from 3 positions to 253 of the model's 256: doubling from 3 would have reached 384 positions a row.
        var run = await RunAsync(new EngineOptions { MaxBatchSize = 2 }, [[5, 9, 13], [7, 11, 17]], 250);
        var full = KvBudget.Copies * 2 * DemoModels.Tiny.ContextLength * run.BytesPerPosition;

        Assert.Equal(full, run.Limit);
        Assert.InRange(run.Bytes, 2 * 2 * 250 * run.BytesPerPosition, full + Slack(run));
    }

    /// <summary>The lanes' alignment: up to 256 bytes per lane in each buffer.</summary>
    private static long Slack(Outcome run) => KvBudget.Copies * run.Tensors * new EngineOptions().MaxDecodeLanes * 256L;

    private static async Task<Outcome> RunAsync(EngineOptions options, int[][] prompts, int maxTokens)
    {
        await using var run = EngineRun.Start(DemoModels.Tiny, options);
        var streams = prompts.Select(p => run.Submit(EngineRun.Greedy(p, maxTokens))).ToArray();
        var read = new List<(int[] Tokens, string Text, GenerationResult Result)>();
        foreach (var stream in streams)
        {
            read.Add(await EngineRun.ReadAllAsync(stream));
        }

        return new Outcome(
            [.. read.Select(r => r.Tokens)], [.. read.Select(r => r.Result)], run.Engine.Runner.Cache.PeakBytes, run.Engine.KvCacheLimitBytes,
            run.Engine.Runner.Cache.BytesPerPosition, run.Model.Signature.PastNames.Count);
    }

    private sealed record Outcome(int[][] Tokens, GenerationResult[] Results, long Bytes, long Limit, long BytesPerPosition, int Tensors);
}
