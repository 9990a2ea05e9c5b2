using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Engine.Prefix;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// The prefix cache: a prompt that starts with blocks an earlier prompt left in the cache prefills only the rest, and
/// generates exactly what it generates with the cache off, on every cache layout and precision the engine supports.
/// </summary>
public sealed class PrefixCacheTests
{
    private const int Block = 8;

    private static readonly int[] s_system = [.. Enumerable.Range(0, 37).Select(i => ((i * 37) + 11) % 997)];

    private static EngineOptions On(int cacheTokens = 4096, int chunk = 256) =>
        new() { PrefixBlockTokens = Block, PrefixCacheTokens = cacheTokens, PrefillChunkTokens = chunk };

    private static EngineOptions Off(int chunk = 256) => new() { PrefixCacheTokens = 0, PrefillChunkTokens = chunk };

    private static int[] Prompt(params int[] rest) => [.. s_system, .. rest];

    private static GenerationRequest Greedy(int[] prompt, string? scope = "") =>
        new() { PromptTokens = prompt, MaxTokens = 12, IgnoreEndOfSequence = true, PrefixCacheScope = scope };

    /// <summary>Turns of prompts sharing the system prefix, of several lengths, one after another and then together.</summary>
    private static readonly int[][] s_turns =
    [
        Prompt(5, 6, 7),
        Prompt(5, 6, 7, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310),
        Prompt(42),
        Prompt(5, 6, 7, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319),
        [.. s_system.Take(20), 1, 2, 3],
        [9, 8, 7, 6],
    ];

    [Theory]
    [MemberData(nameof(DemoVariants.Names), MemberType = typeof(DemoVariants))]
    public async Task Greedy_output_with_the_cache_equals_output_without_it(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        var expected = await RunAsync(spec, Off());
        await using var on = EngineRun.Start(spec, On());
        var actual = await RunAsync(on);

        Assert.Equal(expected.Select(e => e.Tokens), actual.Select(a => a.Tokens));
        var cache = on.Engine.Statistics.Snapshot().PrefixCache!;
        Assert.True(cache.CachedTokens > 0, "nothing was taken from the cache");
        Assert.Equal(actual.Sum(a => a.Result.CachedPromptTokens), cache.CachedTokens);
        Assert.All(actual, a => Assert.Equal(0, a.Result.CachedPromptTokens % Block));
        Assert.Equal(
            actual.Sum(a => a.Result.PromptTokens - a.Result.CachedPromptTokens),
            on.Engine.Statistics.Snapshot().PromptTokens);
    }

    [Theory]
    [InlineData("per-layer")]
    [InlineData("combined-f16-int32-no-position-ids")]
    public async Task Blocks_move_through_the_runtimes_copies_as_device_memory_requires(string variant)
    {
        var spec = DemoVariants.Spec(variant);
        var expected = await RunAsync(spec, Off());
        var options = new EngineOptions { PrefixBlockTokens = Block, CopyCacheThroughRuntime = true };
        await using var on = EngineRun.Start(spec, options);
        var actual = await RunAsync(on);
        Assert.Equal(expected.Select(e => e.Tokens), actual.Select(a => a.Tokens));
        Assert.True(on.Engine.Statistics.Snapshot().PrefixCache!.CachedTokens > 0);
    }

    [Fact]
    public async Task A_stream_tells_its_cached_prompt_tokens_from_its_first_token_as_its_result_does()
    {
        // A caller that stops reading early (a preempted job) still learns what its prompt took from the cache.
        await using var on = EngineRun.Start(DemoModels.Tiny, On(chunk: 5));
        var early = new List<int>();
        foreach (var turn in s_turns)
        {
            var stream = on.Submit(Greedy(turn));
            await using var tokens = stream.GetAsyncEnumerator();
            Assert.True(await tokens.MoveNextAsync());
            early.Add(stream.CachedPromptTokens);
            while (await tokens.MoveNextAsync())
            {
            }

            Assert.Equal((await stream.Completion).CachedPromptTokens, early[^1]);
        }

        Assert.Contains(early, cached => cached > 0);
    }

    [Fact]
    public async Task A_prompt_with_a_cached_prefix_prefills_only_its_rest_in_chunks()
    {
        var expected = await RunAsync(DemoModels.Tiny, Off(chunk: 5));
        await using var on = EngineRun.Start(DemoModels.Tiny, On(chunk: 5));
        var actual = await RunAsync(on);
        Assert.Equal(expected.Select(e => e.Tokens), actual.Select(a => a.Tokens));

        // The second turn found the first turn's 5 full blocks (40 tokens: 37 system + 3).
        Assert.Equal(40, actual[1].Result.CachedPromptTokens);

        // The third found the system prompt's 4 full blocks (32 tokens), the fifth its first 2 blocks (16 of the 20).
        Assert.Equal(32, actual[2].Result.CachedPromptTokens);
        Assert.Equal(16, actual[4].Result.CachedPromptTokens);
        Assert.Equal(0, actual[5].Result.CachedPromptTokens);
    }

    [Fact]
    public async Task A_prompt_held_whole_still_computes_its_last_position()
    {
        await using var on = EngineRun.Start(DemoModels.Tiny, On());
        int[] prompt = [.. s_system.Take(32)];
        var first = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt)));
        var again = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt)));
        Assert.Equal(first.Tokens, again.Tokens);
        Assert.Equal(0, first.Result.CachedPromptTokens);

        // 32 tokens are 4 full blocks, but the last position's logits are needed: 3 blocks come from the cache.
        Assert.Equal(24, again.Result.CachedPromptTokens);
    }

    [Fact]
    public async Task The_next_turn_finds_the_reply_it_resends()
    {
        var first = Prompt(5, 6, 7);
        int[] Next(int[] reply) => [.. first, .. reply, 8, 9];

        await using var off = EngineRun.Start(DemoModels.Tiny, Off());
        var replyOff = (await EngineRun.ReadAllAsync(off.Submit(Greedy(first)))).Tokens;
        var nextOff = await EngineRun.ReadAllAsync(off.Submit(Greedy(Next(replyOff))));

        await using var on = EngineRun.Start(DemoModels.Tiny, On());
        var reply = (await EngineRun.ReadAllAsync(on.Submit(Greedy(first)))).Tokens;
        var next = await EngineRun.ReadAllAsync(on.Submit(Greedy(Next(reply))));

        Assert.Equal(replyOff, reply);
        Assert.Equal(nextOff.Tokens, next.Tokens);

        // The first turn's row held its 40 prompt positions and 11 of its 12 replies (the last sampled one was never run):
        // 6 full blocks, one more than the prompt's 5.
        Assert.Equal(48, next.Result.CachedPromptTokens);
    }

    [Fact]
    public async Task One_scope_never_hits_another_scopes_blocks()
    {
        await using var on = EngineRun.Start(DemoModels.Tiny, On());
        var prompt = Prompt(5, 6, 7);
        var a = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt, "tenant-a")));
        var b = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt, "tenant-b")));
        var a2 = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt, "tenant-a")));
        var none = await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt, scope: null)));

        Assert.Equal((0, 0, 32, 0), (a.Result.CachedPromptTokens, b.Result.CachedPromptTokens, a2.Result.CachedPromptTokens, none.Result.CachedPromptTokens));
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.Tokens, a2.Tokens);
        Assert.Equal(a.Tokens, none.Tokens);
        Assert.NotEqual(PrefixHashes.Compute("tenant-a", prompt, Block), PrefixHashes.Compute("tenant-b", prompt, Block));
    }

    [Fact]
    public async Task A_full_cache_evicts_least_recently_used_blocks_and_stays_within_its_budget()
    {
        // Room for 6 blocks: each distinct 5-block prompt evicts most of the one before.
        await using var on = EngineRun.Start(DemoModels.Tiny, On(cacheTokens: 6 * Block));
        var expected = new List<int[]>();
        await using (var off = EngineRun.Start(DemoModels.Tiny, Off()))
        {
            foreach (var p in Distinct(4))
            {
                expected.Add((await EngineRun.ReadAllAsync(off.Submit(Greedy(p)))).Tokens);
            }
        }

        var actual = new List<int[]>();
        foreach (var p in Distinct(4))
        {
            actual.Add((await EngineRun.ReadAllAsync(on.Submit(Greedy(p)))).Tokens);
        }

        var cache = on.Engine.Statistics.Snapshot().PrefixCache!;
        Assert.Equal(expected, actual);
        Assert.Equal(6, cache.Blocks);
        Assert.True(cache.Evictions >= 14, $"evictions: {cache.Evictions}");
        Assert.Equal(6, on.Engine.PrefixDigest(100).Count);

        // The most recent prompt's blocks are the ones kept: it hits all 5 again (its 41st position is computed).
        var last = Distinct(4).Last();
        Assert.Equal(5 * Block, (await EngineRun.ReadAllAsync(on.Submit(Greedy(last)))).Result.CachedPromptTokens);

        static IEnumerable<int[]> Distinct(int count) =>
            Enumerable.Range(0, count).Select(k => Enumerable.Range(0, (5 * Block) + 1).Select(i => ((i * 13) + (k * 101) + 1) % 997).ToArray());
    }

    [Fact]
    public async Task The_digest_names_the_blocks_a_dispatcher_would_compute_for_the_prompt()
    {
        await using var on = EngineRun.Start(DemoModels.Tiny, On());
        var prompt = Prompt(5, 6, 7);
        await EngineRun.ReadAllAsync(on.Submit(Greedy(prompt, "t")));

        // The reply's blocks are cached on the decode thread after the result is out; a later request is taken after that.
        await EngineRun.ReadAllAsync(on.Submit(Greedy([1, 2, 3], "t") with { MaxTokens = 2 }));
        Assert.Equal(Block, on.Engine.PrefixBlockTokens);
        // The prompt's 5 blocks, then the one its reply completed (40 prompt and 11 reply positions held).
        var digest = on.Engine.PrefixDigest(1000);
        Assert.Equal(6, digest.Count);
        Assert.Subset(digest.ToHashSet(), PrefixHashes.Summaries("t", prompt, Block).ToHashSet());
        Assert.Equal(PrefixHashes.Summaries("t", prompt, Block)[0], digest[0]);
    }

    private static async Task<List<(int[] Tokens, string Text, GenerationResult Result)>> RunAsync(DemoModelSpec spec, EngineOptions options)
    {
        await using var run = EngineRun.Start(spec, options);
        return await RunAsync(run);
    }

    /// <summary>The turns one after another (each may hit the ones before), then all together (hits and misses in one group).</summary>
    private static async Task<List<(int[] Tokens, string Text, GenerationResult Result)>> RunAsync(EngineRun run)
    {
        var results = new List<(int[] Tokens, string Text, GenerationResult Result)>();
        foreach (var turn in s_turns)
        {
            results.Add(await EngineRun.ReadAllAsync(run.Submit(Greedy(turn))));
        }

        var together = s_turns.Select(t => t.Append(77).ToArray()).Select(t => run.Submit(Greedy(t))).ToList();
        foreach (var stream in together)
        {
            results.Add(await EngineRun.ReadAllAsync(stream));
        }

        return results;
    }
}
