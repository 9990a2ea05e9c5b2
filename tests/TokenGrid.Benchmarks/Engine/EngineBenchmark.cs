using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Benchmarks.Engine;

/// <summary>
/// The engine against the raw ONNX Runtime loop, side by side in one process on the demo model:
/// rounds interleave the variants so machine noise hits them alike, and medians are reported.
/// </summary>
public static class EngineBenchmark
{
    public static async Task<BenchmarkReport> RunAsync(BenchmarkArgs args)
    {
        var rounds = args.Int("rounds", 3);
        var newTokens = args.Int("tokens", 64);
        var promptLength = args.Int("prompt", 16);
        var directory = DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        var prompts = Workload.Prompts(model, 32, promptLength);
        await using var engine = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 32, PrefillChunkTokens = 32 * promptLength });

        // Warm up both paths once (session initialisation, buffer growth).
        RawGreedyLoop.Run(model, prompts, 4);
        await GenerateAsync(engine, prompts, 4);

        var raw1 = new List<double>();
        var raw32 = new List<double>();
        var engine1 = new List<double>();
        var engine8 = new List<double>();
        var engine32 = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            raw1.Add(await Workload.RateAsync(() => Task.FromResult(RawGreedyLoop.Run(model, prompts.Take(1).ToList(), newTokens))));
            raw32.Add(await Workload.RateAsync(() => Task.FromResult(RawGreedyLoop.Run(model, prompts, newTokens))));
            engine1.Add(await Workload.RateAsync(() => GenerateAsync(engine, prompts.Take(1).ToList(), newTokens)));
            engine8.Add(await Workload.RateAsync(() => GenerateAsync(engine, prompts.Take(8).ToList(), newTokens)));
            engine32.Add(await Workload.RateAsync(() => GenerateAsync(engine, prompts, newTokens)));
        }

        var joinSteps = await TimeToFirstTokenInStepsAsync(engine, prompts, rounds * 2);
        var report = new BenchmarkReport("engine")
            .Add("model", DemoModelSpec.Default.CacheKey)
            .Add("provider", model.Provider.ToString())
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("new_tokens", newTokens)
            .Add("prompt_tokens", promptLength)
            .Add("raw_tokens_per_s_b1", Stats.Median(raw1))
            .Add("raw_tokens_per_s_b32", Stats.Median(raw32))
            .Add("engine_tokens_per_s_b1", Stats.Median(engine1))
            .Add("engine_tokens_per_s_b8", Stats.Median(engine8))
            .Add("engine_tokens_per_s_b32", Stats.Median(engine32))
            .Add("engine_vs_raw_b32", Stats.Median(engine32) / Stats.Median(raw32))
            .Add("scaling_32_vs_1", Stats.Median(engine32) / Stats.Median(engine1))
            // What the hardware allows: the same ratio for the raw loop. The engine cannot scale past it.
            .Add("raw_scaling_32_vs_1", Stats.Median(raw32) / Stats.Median(raw1))
            .Add("engine_vs_raw_b1", Stats.Median(engine1) / Stats.Median(raw1))
            .Add("ttft_join_steps", joinSteps);
        return report;
    }

    private static async Task<long> GenerateAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts, int newTokens)
    {
        var streams = prompts.Select(p => engine.Submit(new GenerationRequest
        {
            PromptTokens = p,
            MaxTokens = newTokens,
            IgnoreEndOfSequence = true,
        }).Stream ?? throw new InvalidOperationException("The engine refused a benchmark request.")).ToList();
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
