using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;
using TokenGrid.Inference.Tokenizers;

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
    [InlineData(1e-39f)]
    [InlineData(1e-6f)]
    public async Task A_temperature_below_the_greedy_threshold_gives_exactly_the_greedy_tokens(float temperature)
    {
        int[] prompt = [21, 22, 23];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var greedy = (await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12)))).Tokens;

        var tiny = await EngineRun.ReadAllAsync(run.Submit(Sampled(prompt, 12, new SamplingOptions { Temperature = temperature, Seed = 1 })));
        Assert.Equal(greedy, tiny.Tokens);
    }

    [Fact]
    public async Task Template_stop_sequences_end_the_output_but_never_show_in_it()
    {
        int[] prompt = [300, 301, 302];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var text = (await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12)))).Text;
        var stop = text.Substring(text.Length / 2, 2);
        var before = text[..text.IndexOf(stop, StringComparison.Ordinal)];

        var template = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12) with
        {
            TemplateStopSequences = [stop], StopSequences = ["\u0001never"], IncludeStopSequenceInOutput = true,
        }));
        Assert.Equal((before, before, FinishReason.Stop), (template.Result.Text, template.Text, template.Result.FinishReason));

        // The caller's own stop still follows include_stop_str_in_output beside a template's.
        var caller = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12) with
        {
            TemplateStopSequences = ["\u0001never"], StopSequences = [stop], IncludeStopSequenceInOutput = true,
        }));
        Assert.Equal(before + stop, caller.Result.Text);
    }

    [Fact]
    public async Task Min_tokens_holds_off_stop_sequences_ending_in_the_first_tokens_text()
    {
        int[] prompt = [300, 301, 302];
        const int MinTokens = 4;
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var texts = await TokenTextsAsync(run.Submit(EngineRun.Greedy(prompt, 16)));
        var text = string.Concat(texts);
        var guarded = string.Concat(texts.Take(MinTokens)).Length;
        // A character of the first tokens' text, one that appears again later if any does.
        var stop = text[..guarded].Select(c => c.ToString()).OrderBy(c => text.IndexOf(c, guarded, StringComparison.Ordinal) < 0).First();
        Assert.True(text.IndexOf(stop, StringComparison.Ordinal) < guarded);

        var held = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 16) with { StopSequences = [stop], MinTokens = MinTokens }));
        Assert.Equal(Expected(text, guarded, stop), held.Result.Text);
        Assert.Equal(held.Result.Text, held.Text);

        // Resumed after two tokens: the min_tokens still count those two, and this run's guarded text is two tokens' shorter.
        var resumedRequest = EngineRun.Greedy([.. prompt, 500, 501], 14) with { ResumedOutputTokens = 2 };
        var resumedTexts = await TokenTextsAsync(run.Submit(resumedRequest));
        var resumedText = string.Concat(resumedTexts);
        var resumedGuarded = string.Concat(resumedTexts.Take(MinTokens - 2)).Length;
        var resumedStop = resumedText[..resumedGuarded].Select(c => c.ToString()).OrderBy(c => resumedText.IndexOf(c, resumedGuarded, StringComparison.Ordinal) < 0).First();
        var resumed = await EngineRun.ReadAllAsync(run.Submit(resumedRequest with { StopSequences = [resumedStop], MinTokens = MinTokens }));
        Assert.Equal(Expected(resumedText, resumedGuarded, resumedStop), resumed.Result.Text);

        // vLLM: the output ends before the first match that ends after the guarded text; none: it runs to its length.
        static string Expected(string text, int guarded, string stop) =>
            text.IndexOf(stop, Math.Max(0, guarded - stop.Length + 1), StringComparison.Ordinal) is var at and >= 0 ? text[..at] : text;
    }

    [Fact]
    public async Task A_stop_token_id_keeps_its_text_only_when_stops_are_included()
    {
        int[] prompt = [1, 2, 3];
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var greedy = await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy(prompt, 12)));
        // A token first produced there, with text of its own.
        var at = Enumerable.Range(1, greedy.Tokens.Length - 1)
            .First(i => !greedy.Tokens[..i].Contains(greedy.Tokens[i]) && Decode(run, greedy.Tokens[..(i + 1)]) != Decode(run, greedy.Tokens[..i]));
        var stopAt = EngineRun.Greedy(prompt, 12) with { StopTokenIds = [greedy.Tokens[at]] };

        var excluded = await EngineRun.ReadAllAsync(run.Submit(stopAt));
        var included = await EngineRun.ReadAllAsync(run.Submit(stopAt with { IncludeStopSequenceInOutput = true }));
        Assert.Equal(Decode(run, greedy.Tokens[..at]), excluded.Result.Text);
        Assert.Equal(Decode(run, greedy.Tokens[..(at + 1)]), included.Result.Text);
        Assert.Equal(included.Result.Text, included.Text);
        Assert.NotEqual(excluded.Result.Text, included.Result.Text);
        Assert.Equal((FinishReason.Stop, at + 1), (included.Result.FinishReason, included.Result.CompletionTokens));
    }

    [Fact]
    public async Task The_end_of_sequence_token_has_no_text_even_when_ignored()
    {
        await using var run = EngineRun.Start(DemoModels.Tiny);
        var eos = run.Model.Config.EosTokenIds[0];
        Assert.NotEqual("", run.Model.Tokenizer.Decode([eos]));
        var forceEos = new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [eos] = 100f } };

        var ignored = await EngineRun.ReadAllAsync(run.Submit(Sampled([4, 5, 6], 3, forceEos) with { IncludeStopSequenceInOutput = true }));
        Assert.Equal([eos, eos, eos], ignored.Tokens);
        Assert.Equal(("", "", 3, FinishReason.Length), (ignored.Text, ignored.Result.Text, ignored.Result.CompletionTokens, ignored.Result.FinishReason));
    }

    /// <summary>The text of <paramref name="tokens"/> as the engine streams it: end-of-sequence tokens have none.</summary>
    private static string Decode(EngineRun run, IEnumerable<int> tokens)
    {
        var detokenizer = new StreamingDetokenizer(run.Model.Tokenizer);
        var text = tokens.Where(t => !run.Model.Config.EosTokenIds.Contains(t)).Select(detokenizer.Append);
        return string.Concat(text) + detokenizer.Flush();
    }

    /// <summary>The text each token of <paramref name="stream"/> released.</summary>
    private static async Task<List<string>> TokenTextsAsync(GenerationStream stream)
    {
        var texts = new List<string>();
        await foreach (var token in stream)
        {
            texts.Add(token.Text);
        }

        return texts;
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
