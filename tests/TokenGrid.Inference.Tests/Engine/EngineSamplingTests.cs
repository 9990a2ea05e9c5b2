using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>Sampling options, stop ids, min tokens, log probabilities and resumption, end to end through the engine.</summary>
public sealed class EngineSamplingTests
{
    private static readonly SamplingOptions s_seeded = new()
    {
        Temperature = 1f,
        TopP = 0.9f,
        Seed = 2024,
        PresencePenalty = 0.5f,
        FrequencyPenalty = 0.2f,
        RepetitionPenalty = 1.2f,
    };

    private static GenerationRequest Sampled(int[] prompt, int maxTokens, SamplingOptions sampling) =>
        new() { PromptTokens = prompt, MaxTokens = maxTokens, IgnoreEndOfSequence = true, Sampling = sampling };

    [Fact]
    public async Task A_seeded_sequence_samples_the_same_tokens_alone_and_inside_a_batch()
    {
        int[] prompt = [5, 9, 13, 200];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var alone = (await EngineRun.ReadAllAsync(run.Submit(Sampled(prompt, 20, s_seeded)))).Tokens;

        var neighbours = Enumerable.Range(0, 6).Select(i => run.Submit(Sampled([7 + i, 40, 41 + i], 10 + (3 * i), new SamplingOptions { Temperature = 1.3f, Seed = (ulong)i }))).ToList();
        var batched = await EngineRun.ReadAllAsync(run.Submit(Sampled(prompt, 20, s_seeded)));
        await Task.WhenAll(neighbours.Select(n => n.Completion));

        Assert.Equal(alone, batched.Tokens);
        Assert.True(alone.Distinct().Count() > 3, "the seeded sequence should not be degenerate");
    }

    [Fact]
    public async Task Sampling_a_batch_on_several_threads_gives_each_sequence_the_tokens_of_one_thread()
    {
        // Eight seeded sequences with different options, in one batch: spread over 4 sampling threads each row must
        // still draw from its own seeded stream, exactly as on the decode thread alone.
        var requests = Enumerable.Range(0, 8).Select(i => Sampled([3 + i, 700, 710 + (2 * i)], 12 + i, s_seeded with
        {
            Seed = (ulong)(100 + i),
            TopK = i % 3 == 0 ? 40 : 0,
            MinP = i % 4 == 1 ? 0.05f : 0f,
            Temperature = 0.7f + (0.1f * i),
        })).ToList();

        async Task<List<int[]>> RunAsync(int threads)
        {
            // The full vocabulary: 8 rows of it are enough work for the sampler to spread them (see BatchSampler.ParallelWork).
            await using var run = EngineRun.Start(DemoModels.Small, new EngineOptions { SamplingThreads = threads, MaxBatchSize = 8 });
            var streams = requests.Select(r => run.Submit(r)).ToList();
            return [.. await Task.WhenAll(streams.Select(async s => (await EngineRun.ReadAllAsync(s)).Tokens))];
        }

        var one = await RunAsync(1);
        var four = await RunAsync(4);

        Assert.Equal(one, four);
        Assert.True(one.Select(t => string.Join(',', t)).Distinct().Count() == requests.Count, "each sequence should sample its own tokens");
    }

    [Fact]
    public async Task A_resumed_sequence_continues_exactly_as_the_uninterrupted_one()
    {
        int[] prompt = [11, 250, 3, 999, 64];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var whole = (await EngineRun.ReadAllAsync(run.Submit(Sampled(prompt, 16, s_seeded)))).Tokens;

        var resumed = await EngineRun.ReadAllAsync(run.Submit(Sampled([.. prompt, .. whole[..7]], 9, s_seeded) with { ResumedOutputTokens = 7 }));
        Assert.Equal(whole[7..], resumed.Tokens);
    }

    [Fact]
    public async Task A_stop_token_id_ends_the_sequence_with_reason_stop()
    {
        int[] prompt = [1, 2, 3];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var greedy = (await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12)))).Tokens;
        var at = Enumerable.Range(1, greedy.Length - 1).First(i => !greedy[..i].Contains(greedy[i]));

        var stopped = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12) with { StopTokenIds = [greedy[at]] }));
        Assert.Equal(FinishReason.Stop, stopped.Result.FinishReason);
        Assert.Equal(greedy[..(at + 1)], stopped.Tokens);
        Assert.Equal(at + 1, stopped.Result.CompletionTokens);
    }

    [Fact]
    public async Task Min_tokens_masks_the_end_of_sequence_token_until_enough_are_out()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var eos = run.Model.Config.EosTokenIds[0];
        var forceEos = new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [eos] = 100f } };
        var request = new GenerationRequest { PromptTokens = [4, 5, 6], MaxTokens = 10, Sampling = forceEos, MinTokens = 3 };

        var result = await EngineRun.ReadAllAsync(run.Submit(request));
        Assert.Equal(FinishReason.Stop, result.Result.FinishReason);
        Assert.Equal(4, result.Tokens.Length);
        Assert.DoesNotContain(eos, result.Tokens[..3]);
        Assert.Equal(eos, result.Tokens[3]);

        var resumed = await EngineRun.ReadAllAsync(run.Submit(request with { PromptTokens = [4, 5, 6, 7, 8], ResumedOutputTokens = 2 }));
        Assert.Equal(2, resumed.Tokens.Length);
        Assert.Equal(eos, resumed.Tokens[1]);
    }

    [Fact]
    public async Task Log_probabilities_come_with_each_token_only_when_asked()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var tokens = new List<GeneratedToken>();
        await foreach (var token in run.Submit(EngineRun.Greedy([8, 9, 10], 6) with { TopLogprobs = 4 }))
        {
            tokens.Add(token);
        }

        Assert.Equal(6, tokens.Count);
        foreach (var token in tokens)
        {
            var logprobs = token.Logprobs!;
            Assert.Equal(4, logprobs.Top.Count);
            Assert.True(logprobs.Top.Sum(t => Math.Exp(t.Logprob)) <= 1.0 + 1e-6);
            Assert.Equal(logprobs.Top.Select(t => t.Logprob).OrderDescending(), logprobs.Top.Select(t => t.Logprob));
            // Greedy: the sampled token is the most likely one.
            Assert.Equal(token.TokenId, logprobs.Top[0].TokenId);
            Assert.Equal(logprobs.Top[0].Logprob, logprobs.Logprob);
        }

        await foreach (var token in run.Submit(EngineRun.Greedy([8, 9, 10], 2)))
        {
            Assert.Null(token.Logprobs);
        }
    }

    [Fact]
    public async Task A_sampled_token_outside_the_top_alternatives_still_reports_its_own_logprob()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var bias = new SamplingOptions { Seed = 5, LogitBias = new Dictionary<int, float> { [17] = 100f } };
        await foreach (var token in run.Submit(Sampled([8, 9, 10], 3, bias) with { TopLogprobs = 1 }))
        {
            // The bias forces 17, but logprobs are the raw distribution's: 17 is not its most likely token.
            Assert.Equal(17, token.TokenId);
            Assert.True(token.Logprobs!.Logprob < token.Logprobs.Top[0].Logprob);
            Assert.NotEqual(17, token.Logprobs.Top[0].TokenId);
        }
    }

    [Fact]
    public async Task Include_stop_sequence_keeps_the_matched_text()
    {
        int[] prompt = [300, 301, 302];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var text = (await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12)))).Text;
        var stop = text.Substring(text.Length / 2, 2);
        var before = text[..text.IndexOf(stop, StringComparison.Ordinal)];

        var excluded = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12) with { StopSequences = [stop] }));
        var included = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12) with { StopSequences = [stop], IncludeStopSequenceInOutput = true }));
        Assert.Equal(before, excluded.Result.Text);
        Assert.Equal(before + stop, included.Result.Text);
        Assert.Equal(before + stop, included.Text);
        Assert.Equal(FinishReason.Stop, included.Result.FinishReason);
    }

    [Theory]
    [InlineData(-1, null, 0, "min_tokens")]
    [InlineData(0, 21, 0, "top_logprobs")]
    [InlineData(0, null, 3, "resumed")]
    public async Task Invalid_request_fields_are_refused(int minTokens, int? topLogprobs, int resumed, string expected)
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var refused = run.Engine.Submit(EngineRun.Greedy([1, 2, 3], 4) with { MinTokens = minTokens, TopLogprobs = topLogprobs, ResumedOutputTokens = resumed });
        Assert.Equal(SubmitStatus.Invalid, refused.Status);
        Assert.Contains(expected, refused.Error, StringComparison.OrdinalIgnoreCase);

        var badBias = run.Engine.Submit(EngineRun.Greedy([1], 1) with { Sampling = new SamplingOptions { LogitBias = new Dictionary<int, float> { [5000] = 1f } } });
        Assert.Contains("logit_bias", badBias.Error);
    }
}
