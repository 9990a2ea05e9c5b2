using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>
/// Sequences with a fork key (OpenAI's <c>n</c> &gt; 1) share their prompt's cache: the prompt is prefilled once, and a
/// forked sequence generates exactly what it would have generated alone.
/// </summary>
public sealed class EngineForkTests
{
    private static readonly int[] s_prompt = [17, 4, 250, 9, 999, 3, 61];

    private static GenerationRequest Choice(int maxTokens, SamplingOptions? sampling = null, string? fork = "group-1") => new()
    {
        PromptTokens = s_prompt,
        MaxTokens = maxTokens,
        IgnoreEndOfSequence = true,
        Sampling = sampling ?? SamplingOptions.Greedy,
        ForkKey = fork,
    };

    [Fact]
    public async Task Three_choices_submitted_together_prefill_the_prompt_once_and_equal_the_unforked_output()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong);
        using var stop = new CancellationTokenSource();

        // Long enough that none can finish before its siblings are taken from the queue, whatever the machine's load.
        var choices = Enumerable.Range(0, 3).Select(_ => run.Submit(Choice(8000), stop.Token)).ToList();
        var firsts = await Task.WhenAll(choices.Select(c => FirstTokensAsync(c, 12)));
        stop.Cancel();
        await Task.WhenAll(choices.Select(c => c.Completion));

        var statistics = run.Engine.Statistics.Snapshot();
        Assert.Equal(s_prompt.Length, statistics.PromptTokens);
        Assert.Equal(2, statistics.ForkedSequences);
        Assert.Equal(2, choices.Count(c => c.PromptShared));

        var alone = (await EngineRun.ReadAllAsync(run.Submit(Choice(12, fork: null)))).Tokens;
        Assert.All(firsts, f => Assert.Equal(alone, f));
    }

    [Fact]
    public async Task A_choice_forks_from_a_running_sibling_and_continues_exactly_as_alone()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong);
        using var stop = new CancellationTokenSource();
        var leader = run.Submit(Choice(8000), stop.Token);
        await using var reader = leader.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());

        // The leader is decoding: both siblings copy its prompt rows while it runs on.
        var followers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => EngineRun.ReadAllAsync(run.Submit(Choice(10)))));
        stop.Cancel();
        await leader.Completion;

        var statistics = run.Engine.Statistics.Snapshot();
        Assert.Equal(s_prompt.Length, statistics.PromptTokens);
        Assert.Equal(2, statistics.ForkedSequences);

        Assert.False(leader.PromptShared);
        var alone = await EngineRun.ReadAllAsync(run.Submit(Choice(10, fork: null)));
        Assert.Equal(2 * s_prompt.Length, run.Engine.Statistics.Snapshot().PromptTokens);
        Assert.All(followers, f => Assert.Equal(alone.Tokens, f.Tokens));
        Assert.All(followers, f => Assert.Equal((FinishReason.Length, s_prompt.Length, 10), (f.Result.FinishReason, f.Result.PromptTokens, f.Result.CompletionTokens)));
    }

    [Fact]
    public async Task Seeded_choices_differ_from_each_other_and_each_equals_its_unforked_run()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong);
        using var stop = new CancellationTokenSource();
        var leader = run.Submit(Choice(8000, Seeded(100)), stop.Token);
        await using var reader = leader.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());

        var forked = await Task.WhenAll(new ulong[] { 101, 102 }.Select(seed => EngineRun.ReadAllAsync(run.Submit(Choice(16, Seeded(seed))))));
        stop.Cancel();
        await leader.Completion;
        Assert.Equal(2, run.Engine.Statistics.Snapshot().ForkedSequences);

        var alone = await Task.WhenAll(new ulong[] { 101, 102 }.Select(seed => EngineRun.ReadAllAsync(run.Submit(Choice(16, Seeded(seed), fork: null)))));
        Assert.Equal(alone[0].Tokens, forked[0].Tokens);
        Assert.Equal(alone[1].Tokens, forked[1].Tokens);
        Assert.NotEqual(forked[0].Tokens, forked[1].Tokens);
    }

    [Fact]
    public async Task A_different_prompt_or_key_is_never_forked()
    {
        await using var run = EngineRun.Start(DemoModels.TinyLong);
        using var stop = new CancellationTokenSource();
        var leader = run.Submit(Choice(8000), stop.Token);
        await using var reader = leader.GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());

        await EngineRun.ReadAllAsync(run.Submit(Choice(3) with { ForkKey = "group-2" }));
        await EngineRun.ReadAllAsync(run.Submit(Choice(3) with { PromptTokens = [.. s_prompt, 5] }));
        stop.Cancel();
        await leader.Completion;

        var statistics = run.Engine.Statistics.Snapshot();
        Assert.Equal(0, statistics.ForkedSequences);
        Assert.Equal((3 * s_prompt.Length) + 1, statistics.PromptTokens);
    }

    [Fact]
    public async Task Every_choice_reports_the_cached_tokens_of_the_prompt_they_share()
    {
        // A prompt of 41 ids in blocks of 8: once it is cached, 40 come from the cache. Choices forked in the prefill
        // group and choices forked from a running sibling must report those 40, as the one that computed it does.
        int[] prompt = [.. Enumerable.Range(0, 41).Select(i => ((i * 53) + 7) % 997)];
        await using var run = EngineRun.Start(DemoModels.TinyLong, new EngineOptions { PrefixBlockTokens = 8, PrefixCacheTokens = 4096 });
        var warm = await EngineRun.ReadAllAsync(run.Submit(Choice(2, fork: null) with { PromptTokens = prompt, PrefixCacheScope = "" }));
        Assert.Equal(0, warm.Result.CachedPromptTokens);

        using var stop = new CancellationTokenSource();
        var together = Enumerable.Range(0, 3)
            .Select(_ => run.Submit(Choice(8000, fork: "together") with { PromptTokens = prompt, PrefixCacheScope = "" }, stop.Token)).ToList();
        await Task.WhenAll(together.Select(c => FirstTokensAsync(c, 1)));
        Assert.Equal(2, together.Count(c => c.PromptShared));
        Assert.All(together, c => Assert.Equal(40, c.CachedPromptTokens));

        var followers = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ =>
            EngineRun.ReadAllAsync(run.Submit(Choice(3, fork: "together") with { PromptTokens = prompt, PrefixCacheScope = "" }))));
        stop.Cancel();
        var results = await Task.WhenAll(together.Select(c => c.Completion));
        Assert.Equal(4, run.Engine.Statistics.Snapshot().ForkedSequences);
        Assert.All(results, r => Assert.Equal(40, r.CachedPromptTokens));
        Assert.All(followers, f => Assert.Equal(40, f.Result.CachedPromptTokens));
    }

    private static SamplingOptions Seeded(ulong seed) => new() { Temperature = 1f, Seed = seed, PresencePenalty = 0.3f };

    private static async Task<int[]> FirstTokensAsync(GenerationStream stream, int count)
    {
        var tokens = new List<int>(count);
        await foreach (var token in stream)
        {
            tokens.Add(token.TokenId);
            if (tokens.Count == count)
            {
                break;
            }
        }

        return [.. tokens];
    }
}
