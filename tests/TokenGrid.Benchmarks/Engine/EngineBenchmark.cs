using System.CommandLine;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Benchmarks.Engine;

/// <summary>
/// The engine against the raw ONNX Runtime loop, side by side in one process on the demo model (or
/// <c>--model DIR</c>): rounds interleave the variants so machine noise hits them alike, and medians are reported.
/// Greedy, temperature-1 and top-p-0.9 sampling run over the same batch of 32; on the demo model a small-vocabulary
/// variant (1,000 ids, fed as ids) measures the engine's per-step overhead, which the full vocabulary's LM head hides.
/// </summary>
public static class EngineBenchmark
{
    /// <summary>The small-vocabulary demo variant: the default model with a 1,000-id LM head.</summary>
    internal static DemoModelSpec SmallVocabulary { get; } = DemoModelSpec.Default with { VocabSize = 1000 };

    internal static SamplingOptions Sampled { get; } = new() { Temperature = 1f };

    internal static SamplingOptions TopP { get; } = new() { Temperature = 1f, TopP = 0.9f };

    /// <summary>
    /// What a request sends to a model whose generation_config.json sets top-k, with nothing of its own: Qwen 2.5
    /// Instruct's defaults (temperature 0.7, top_k 20, top_p 0.8, repetition_penalty 1.05), which the grid applies.
    /// </summary>
    internal static SamplingOptions TopK { get; } = new() { Temperature = 0.7f, TopK = 20, TopP = 0.8f, RepetitionPenalty = 1.05f };

    /// <summary>OpenAI's own penalties at OpenAI's default temperature: <c>presence_penalty</c> and <c>frequency_penalty</c> 0.5.</summary>
    internal static SamplingOptions Penalties { get; } = new() { Temperature = 1f, PresencePenalty = 0.5f, FrequencyPenalty = 0.5f };

    /// <summary>Log probabilities as a chat request asks for them: <c>logprobs: true, top_logprobs: 5</c>.</summary>
    private const int TopLogprobs = 5;

    /// <summary>Choices per prompt of the <c>n</c> scenario: 8 prompts of 4 choices fill the batch of 32.</summary>
    private const int Choices = 4;

    /// <summary>
    /// Prompt length of the prefill scenario: a chat's history or a system prompt, as long as the demo model's context
    /// (512) leaves room for.
    /// </summary>
    private const int LongPrompt = 448;

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 64, "New tokens per sequence.");
    private static readonly Option<int> s_prompt = BenchmarkCommand.Int("--prompt", 16, "Prompt length in tokens.");
    private static readonly Option<string?> s_model = BenchmarkCommand.Model();
    private static readonly Option<ExecutionProviderPreference> s_provider = ProviderOption.Create();
    private static readonly Option<int> s_smallBatches = BenchmarkCommand.Int(
        "--small-batches", 4, "Small-vocabulary variant: batches each side runs back to back per measured sample, after one unmeasured.");

    /// <summary>The <c>engine</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "engine", "The engine against the raw ONNX Runtime loop on the demo model (or --model DIR).", RunAsync, s_rounds, s_tokens, s_prompt, s_model, s_provider, s_smallBatches);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var promptLength = args.GetValue(s_prompt);
        var custom = args.GetValue(s_model);
        var smallBatches = args.GetValue(s_smallBatches);
        if (smallBatches <= 0)
        {
            throw new BenchmarkUsageException("--small-batches must be at least 1.");
        }

        var directory = custom ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        var load = new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider) };
        using var model = DecoderModel.Load(directory, load);
        var prompts = Workload.Prompts(model, 32, promptLength);
        var options = new EngineOptions { MaxBatchSize = 32, PrefillChunkTokens = 32 * promptLength };
        await using var engine = new InferenceEngine(model, options);
        // The same model with rows sampled on one thread per processor: does spreading sampling over cores pay?
        await using var parallel = new InferenceEngine(model, new EngineOptions
        {
            MaxBatchSize = 32,
            PrefillChunkTokens = 32 * promptLength,
            SamplingThreads = 0,
            ThreadName = "tokengrid-engine-parallel",
        });
        var hasRaw = RawGreedyLoop.Supports(model);

        // Long prompts, each new to the engine: no prefix cache, so every round prefills them whole, in the silo's chunks.
        await using var prefill = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 32, PrefixCacheTokens = 0, ThreadName = "tokengrid-engine-prefill" });
        var longPrompts = Workload.Prompts(model, 32, Math.Min(LongPrompt, model.Config.ContextLength - 1));

        // The small variant only exists for the demo model.
        using var small = custom is null ? DecoderModel.Load(DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, SmallVocabulary), load) : null;
        await using var smallEngine = small is null ? null : new InferenceEngine(small, new EngineOptions
        {
            MaxBatchSize = 32,
            PrefillChunkTokens = 32 * promptLength,
            ThreadName = "tokengrid-engine-small",
        });
        var smallPrompts = small is null ? [] : Workload.Prompts(small, 32, promptLength);

        // Warm up every path once (session initialisation, buffer growth, JIT).
        if (hasRaw)
        {
            RawGreedyLoop.Run(model, prompts, 4);
        }

        await GenerateAsync(engine, prompts, 4, SamplingOptions.Greedy);
        await GenerateAsync(engine, prompts, 4, TopP);
        await GenerateAsync(parallel, prompts, 4, TopP);
        await GenerateAsync(engine, prompts, 4, TopK);
        await GenerateAsync(engine, prompts, 4, Sampled, TopLogprobs);
        await GenerateAsync(engine, prompts, 4, Penalties);
        await GenerateChoicesAsync(engine, prompts, 4);
        await PrefillAsync(prefill, longPrompts.Take(4).ToList());
        if (small is not null)
        {
            RawGreedyLoop.Run(small, smallPrompts, 4);
            await GenerateAsync(smallEngine!, smallPrompts, 4, SamplingOptions.Greedy);
        }

        var rates = new Dictionary<string, List<double>>();
        void Add(string key, double rate) => (rates.TryGetValue(key, out var list) ? list : rates[key] = []).Add(rate);
        for (var round = 0; round < rounds; round++)
        {
            if (hasRaw)
            {
                Add("raw1", await Workload.RateAsync(() => Task.FromResult(RawGreedyLoop.Run(model, prompts.Take(1).ToList(), newTokens))));
                Add("raw32", await Workload.RateAsync(() => Task.FromResult(RawGreedyLoop.Run(model, prompts, newTokens))));
            }

            Add("engine1", await Workload.RateAsync(() => GenerateAsync(engine, prompts.Take(1).ToList(), newTokens, SamplingOptions.Greedy)));
            Add("engine8", await Workload.RateAsync(() => GenerateAsync(engine, prompts.Take(8).ToList(), newTokens, SamplingOptions.Greedy)));
            Add("engine32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, SamplingOptions.Greedy)));
            Add("sampled32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, Sampled)));
            Add("topp32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, TopP)));
            Add("topk32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, TopK)));
            Add("logprobs32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, Sampled, TopLogprobs)));
            Add("penalties32", await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens, Penalties)));
            Add("choices32", await Workload.RateAsync(() => GenerateChoicesAsync(engine, prompts, newTokens)));
            Add("prefill32", await Workload.RateAsync(() => PrefillAsync(prefill, longPrompts)));
            Add("sampled32parallel", await Workload.RateAsync(() => GenerateAsync(parallel, prompts, newTokens, Sampled)));
            Add("topp32parallel", await Workload.RateAsync(() => GenerateAsync(parallel, prompts, newTokens, TopP)));
            if (small is not null)
            {
                // A batch of 8 of the small model lasts about 25 ms here: one batch per sample measured mostly the
                // machine's noise (single runs read 0.7 to 1.4), and the side that ran second ran in the wake of the
                // first (ONNX Runtime's spinning workers). Each sample is therefore several batches after one
                // unmeasured batch of its own, and the sides take turns going first.
                var small8 = smallPrompts.Take(8).ToList();
                (string Key, Func<Task<long>> Batch)[] sides =
                [
                    ("smallRaw8", () => Task.FromResult(RawGreedyLoop.Run(small, small8, newTokens))),
                    ("smallEngine8", () => GenerateAsync(smallEngine!, small8, newTokens, SamplingOptions.Greedy)),
                    ("smallRaw32", () => Task.FromResult(RawGreedyLoop.Run(small, smallPrompts, newTokens))),
                    ("smallEngine32", () => GenerateAsync(smallEngine!, smallPrompts, newTokens, SamplingOptions.Greedy)),
                ];
                foreach (var i in round % 2 == 0 ? [0, 1, 2, 3] : new[] { 1, 0, 3, 2 })
                {
                    Add(sides[i].Key, await BatchesRateAsync(sides[i].Batch, smallBatches));
                }
            }
        }

        double M(string key) => Stats.Median(rates[key]);
        var joinSteps = await TimeToFirstTokenInStepsAsync(engine, prompts, rounds * 2);
        var report = new BenchmarkReport("engine")
            .Add("model", custom ?? DemoModelSpec.Default.CacheKey)
            .Add("provider", model.Provider.ToString())
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("new_tokens", newTokens)
            .Add("prompt_tokens", promptLength);
        if (hasRaw)
        {
            report.Add("raw_tokens_per_s_b1", M("raw1")).Add("raw_tokens_per_s_b32", M("raw32"));
        }

        report
            .Add("engine_tokens_per_s_b1", M("engine1"))
            .Add("engine_tokens_per_s_b8", M("engine8"))
            .Add("engine_tokens_per_s_b32", M("engine32"))
            .Add("engine_sampled_tokens_per_s_b32", M("sampled32"))
            .Add("engine_top_p_tokens_per_s_b32", M("topp32"))
            .Add("engine_sampled_vs_greedy_b32", M("sampled32") / M("engine32"))
            .Add("engine_top_p_vs_greedy_b32", M("topp32") / M("engine32"))
            .Add("engine_top_k_tokens_per_s_b32", M("topk32"))
            .Add("engine_top_k_vs_greedy_b32", M("topk32") / M("engine32"))
            // The rest of the request surface at OpenAI's default temperature, against greedy and against plain
            // temperature 1: what logprobs, penalties and n > 1 cost on top of sampling.
            .Add("engine_logprobs_tokens_per_s_b32", M("logprobs32"))
            .Add("engine_logprobs_vs_greedy_b32", M("logprobs32") / M("engine32"))
            .Add("engine_logprobs_vs_sampled_b32", M("logprobs32") / M("sampled32"))
            .Add("engine_penalties_tokens_per_s_b32", M("penalties32"))
            .Add("engine_penalties_vs_greedy_b32", M("penalties32") / M("engine32"))
            .Add("engine_penalties_vs_sampled_b32", M("penalties32") / M("sampled32"))
            .Add("engine_n4_tokens_per_s_b32", M("choices32"))
            .Add("engine_n4_vs_greedy_b32", M("choices32") / M("engine32"))
            .Add("engine_n4_vs_sampled_b32", M("choices32") / M("sampled32"))
            // Prompt tokens per second of 32 long prompts (one token out each), against greedy decode tokens per second:
            // what a long chat history or system prompt costs before its first token.
            .Add("engine_prefill_prompt_tokens", longPrompts[0].Length)
            .Add("engine_prefill_tokens_per_s_b32", M("prefill32"))
            .Add("engine_prefill_vs_decode_b32", M("prefill32") / M("engine32"))
            .Add("engine_sampled_parallel_vs_greedy_b32", M("sampled32parallel") / M("engine32"))
            .Add("engine_top_p_parallel_vs_greedy_b32", M("topp32parallel") / M("engine32"))
            .Add("scaling_32_vs_1", M("engine32") / M("engine1"));
        if (hasRaw)
        {
            report
                .Add("engine_vs_raw_b32", M("engine32") / M("raw32"))
                // What the hardware allows: the same ratio for the raw loop. The engine cannot scale past it.
                .Add("raw_scaling_32_vs_1", M("raw32") / M("raw1"))
                .Add("engine_vs_raw_b1", M("engine1") / M("raw1"));
        }

        if (small is not null)
        {
            report
                .Add("small_model", SmallVocabulary.CacheKey)
                .Add("raw_tokens_per_s_b8_small", M("smallRaw8"))
                .Add("engine_tokens_per_s_b8_small", M("smallEngine8"))
                .Add("raw_tokens_per_s_b32_small", M("smallRaw32"))
                .Add("engine_tokens_per_s_b32_small", M("smallEngine32"))
                .Add("engine_vs_raw_b8_small", M("smallEngine8") / M("smallRaw8"))
                .Add("engine_vs_raw_b32_small", M("smallEngine32") / M("smallRaw32"));
        }

        return report.Add("ttft_join_steps", joinSteps);
    }

    /// <summary>Tokens per second of <paramref name="batches"/> runs of <paramref name="batch"/> back to back, after one unmeasured run.</summary>
    private static async Task<double> BatchesRateAsync(Func<Task<long>> batch, int batches)
    {
        await batch();
        return await Workload.RateAsync(async () =>
        {
            long tokens = 0;
            for (var i = 0; i < batches; i++)
            {
                tokens += await batch();
            }

            return tokens;
        });
    }

    /// <summary>Generates <paramref name="newTokens"/> from each prompt (end of sequence ignored); returns the tokens generated.</summary>
    internal static Task<long> GenerateAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts, int newTokens, SamplingOptions sampling, int? topLogprobs = null) =>
        RunAsync(engine, prompts.Select((p, i) => new GenerationRequest
        {
            PromptTokens = p,
            MaxTokens = newTokens,
            IgnoreEndOfSequence = true,
            Sampling = sampling.IsGreedy ? sampling : sampling with { Seed = (ulong)i },
            TopLogprobs = topLogprobs,
        }));

    /// <summary>
    /// <c>n</c> = <see cref="Choices"/> at temperature 1, as the grid submits it: the first prompts, each as that many
    /// sequences sharing a fork key (one prefill, the others fork from its keys and values), each with a seed of its own.
    /// As many sequences as <paramref name="prompts"/>, so the batch is as full as greedy's.
    /// </summary>
    private static Task<long> GenerateChoicesAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts, int newTokens) =>
        RunAsync(engine, prompts.Take(prompts.Count / Choices).SelectMany((p, i) => Enumerable.Range(0, Choices).Select(c => new GenerationRequest
        {
            PromptTokens = p,
            MaxTokens = newTokens,
            IgnoreEndOfSequence = true,
            Sampling = Sampled with { Seed = (ulong)((i * Choices) + c) },
            ForkKey = $"bench-{i}",
        })));

    /// <summary>Prefills every prompt and generates one token from each; returns the prompt tokens processed.</summary>
    private static async Task<long> PrefillAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts)
    {
        await GenerateAsync(engine, prompts, 1, SamplingOptions.Greedy);
        return prompts.Sum(p => (long)p.Length);
    }

    private static async Task<long> RunAsync(InferenceEngine engine, IEnumerable<GenerationRequest> requests)
    {
        var streams = requests.Select(r => engine.Submit(r).Stream ?? throw new InvalidOperationException("The engine refused a benchmark request.")).ToList();
        var results = await Task.WhenAll(streams.Select(s => s.Completion));
        return results.Sum(r => (long)r.CompletionTokens);
    }

    /// <summary>
    /// A new sequence joins a busy batch of 31 long-running sequences; its time to first token is divided
    /// by the mean decode step time over the same window. Median over several joins.
    /// </summary>
    private static async Task<double> TimeToFirstTokenInStepsAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts, int joins)
    {
        using var stop = new CancellationTokenSource();
        var busy = prompts.Take(31).Select(p => engine.Submit(new GenerationRequest
        {
            PromptTokens = p,
            MaxTokens = 100_000,
            IgnoreEndOfSequence = true,
        }, stop.Token).Stream!).ToList();

        // Wait until every busy sequence is decoding (it has delivered a token).
        foreach (var s in busy)
        {
            await using var e = s.GetAsyncEnumerator();
            await e.MoveNextAsync();
        }

        var ratios = new List<double>();
        for (var j = 0; j < joins; j++)
        {
            var before = engine.Statistics.Snapshot();
            var joiner = engine.Submit(new GenerationRequest { PromptTokens = prompts[31], MaxTokens = 2, IgnoreEndOfSequence = true }).Stream!;
            var result = await joiner.Completion;
            var after = engine.Statistics.Snapshot();
            var stepTime = (after.DecodeTime - before.DecodeTime) / Math.Max(1, after.DecodeSteps - before.DecodeSteps);
            ratios.Add(result.TimeToFirstToken!.Value / stepTime);
        }

        await stop.CancelAsync();
        await Task.WhenAll(busy.Select(s => s.Completion));
        return Stats.Median(ratios);
    }
}
