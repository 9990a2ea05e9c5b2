using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Silo.Hosting;
using TokenGrid.Benchmarks.Engine;
using TokenGrid.Grains.Nodes;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// Streaming completions over HTTP through the whole grid (auth, admission, job grain, node grain, engine, SSE)
/// with 1, 8 and 32 concurrent clients (greedy, and at 32 also temperature 1, top-p 0.9, and Qwen 2.5's defaults with top-k 20), against the engine alone
/// on the same model, interleaved in one process once the JIT has settled (the three kinds at 32 clients taking turns
/// going first); then the small-vocabulary variant, and one node against two.
/// Tokens are counted from the usage each stream reports, so an early end-of-sequence is counted honestly.
/// </summary>
public static class GridBenchmark
{
    private const string Key = "tg-bench-key-0123456789abcdef";

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 64, "New tokens per request.");
    private static readonly Option<int> s_prompt = BenchmarkCommand.Int("--prompt", 16, "Prompt length in tokens.");
    private static readonly Option<int> s_waves = BenchmarkCommand.Int("--waves", 4, "Small-vocabulary steady rounds: requests each of the 32 clients sends back to back.");
    private static readonly Option<int> s_intraOp = BenchmarkCommand.Int(
        "--small-intra-op", 0, "Small-vocabulary variant: intra-op threads of the model on both sides (0: ONNX Runtime's default, every core).");
    private static readonly Option<int> s_engines = BenchmarkCommand.Int(
        "--small-engines", 1, "Small-vocabulary variant: engines on each side, sharing the 32 sequences (the grid's node gets a CPU device per engine); with --small-intra-op 1, one per core.");
    private static readonly Option<string?> s_model = BenchmarkCommand.Model();
    private static readonly Option<string?> s_only = new Option<string?>("--only") { Description = "Run only the small-vocabulary variant.", HelpName = "small" }.AcceptOnlyFromAmong("small");
    private static readonly Option<ExecutionProviderPreference> s_provider = ProviderOption.Create();
    private static readonly Option<bool> s_nodes = new Option<bool>("--nodes") { Description = "Also run the two-node variant; --nodes false skips it.", DefaultValueFactory = _ => true };

    /// <summary>The <c>grid</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "grid", "Streaming clients over HTTP against the grid, against the engine alone.", RunAsync, s_rounds, s_tokens, s_prompt, s_waves, s_intraOp, s_engines, s_model, s_only, s_provider, s_nodes);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var promptLength = args.GetValue(s_prompt);
        var custom = args.GetValue(s_model);
        var waves = args.GetValue(s_waves);
        if (waves <= 0)
        {
            throw new BenchmarkUsageException("--waves must be at least 1.");
        }

        var intraOp = args.GetValue(s_intraOp);
        if (intraOp < 0)
        {
            throw new BenchmarkUsageException("--small-intra-op must not be negative.");
        }

        var engines = args.GetValue(s_engines);
        if (engines is < 1 or > 32 || 32 % engines != 0)
        {
            throw new BenchmarkUsageException("--small-engines must divide the 32 sequences: 1, 2, 4, 8, 16 or 32.");
        }

        if (args.GetValue(s_only) is "small")
        {
            // Quick iteration on the serving path: only the small-vocabulary grid against its engine.
            var small = new BenchmarkReport("grid").Add("rounds", rounds).Add("new_tokens", newTokens).Add("prompt_tokens", promptLength);
            await SmallVocabularyAsync(small, rounds, newTokens, promptLength, waves, new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider), IntraOpThreads = intraOp }, engines);
            return small;
        }

        var directory = custom ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        var load = new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider) };
        using var model = DecoderModel.Load(directory, load);
        await using var engine = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 32, PrefillChunkTokens = 32 * promptLength });
        var prompts = Workload.Prompts(model, 32, promptLength);

        // The grid's node runs where the engine alone runs: a GPU device only when CUDA actually loaded.
        var device = model.Provider == ExecutionProviderKind.Cuda ? "gpu0" : "cpu0";
        string[] modelSettings = custom is null ? [] : ["--TokenGrid:Models:Entries:0:Name", "demo", "--TokenGrid:Models:Entries:0:Directory", custom];
        string[] nodeSettings = [.. modelSettings, "--TokenGrid:Nodes:Provider", args.GetValue(s_provider).ToString()];
        await using var app = await StartGridAsync([device], intraOpThreads: 0, portOffset: 0, nodeSettings);
        using var http = Client(app);

        await StreamAllAsync(http, prompts.Take(4).ToList(), 4);
        await StreamAllAsync(http, prompts.Take(4).ToList(), 4, temperature: 1f, topP: 0.9f);
        await StreamAllAsync(http, prompts.Take(4).ToList(), 4, temperature: 1f, logprobs: 5);
        await EngineAsync(engine, prompts.Take(4).ToList(), 4);
        // Measured once the JIT has settled (see SettleAsync): a freshly started grid compiles its code for its first
        // half minute or so, which would land in whichever rounds ran first.
        var settle = await SettleAsync(() => StreamAllAsync(http, prompts, newTokens), () => EngineAsync(engine, prompts, newTokens));
        var grid = new Dictionary<int, List<double>> { [1] = [], [8] = [], [32] = [] };
        var sampled = new List<double>();
        var topP = new List<double>();
        var topK = new List<double>();
        var logprobs = new List<double>();
        var alone = new List<double>();
        (List<double> Rates, Func<Task<long>> Run)[] defaults =
        [
            (grid[32], () => StreamAllAsync(http, prompts, newTokens)),
            (sampled, () => StreamAllAsync(http, prompts, newTokens, temperature: 1f)),
            (topP, () => StreamAllAsync(http, prompts, newTokens, temperature: 1f, topP: 0.9f)),
            // What a model whose generation_config.json sets top-k gets by default (Qwen 2.5 Instruct's values).
            (topK, () => StreamAllAsync(http, prompts, newTokens, temperature: 0.7f, topP: 0.8f, topK: 20, repetitionPenalty: 1.05f)),
            // Log probabilities with five alternatives per token, at OpenAI's default temperature: the engine's work per
            // row, and every chunk's larger body on the way out.
            (logprobs, () => StreamAllAsync(http, prompts, newTokens, temperature: 1f, logprobs: 5)),
        ];
        for (var round = 0; round < rounds; round++)
        {
            foreach (var clients in new[] { 1, 8 })
            {
                grid[clients].Add(await Workload.RateAsync(() => StreamAllAsync(http, prompts.Take(clients).ToList(), newTokens)));
            }

            // Greedy, sampled, top-p, top-k and logprobs at 32 clients take turns going first, so none always runs in another's wake.
            for (var k = 0; k < defaults.Length; k++)
            {
                var (rates, run) = defaults[(k + round) % defaults.Length];
                rates.Add(await Workload.RateAsync(run));
            }

            alone.Add(await Workload.RateAsync(() => EngineAsync(engine, prompts, newTokens)));
        }

        await app.StopAsync();
        var report = new BenchmarkReport("grid")
            .Add("model", custom ?? DemoModelSpec.Default.CacheKey)
            .Add("provider", model.Provider.ToString())
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("new_tokens", newTokens)
            .Add("prompt_tokens", promptLength)
            .Add("jit_settle_s", settle.Seconds)
            .Add("grid_tokens_per_s_1", Stats.Median(grid[1]))
            .Add("grid_tokens_per_s_8", Stats.Median(grid[8]))
            .Add("grid_tokens_per_s_32", Stats.Median(grid[32]))
            .Add("grid_sampled_tokens_per_s_32", Stats.Median(sampled))
            .Add("grid_top_p_tokens_per_s_32", Stats.Median(topP))
            .Add("engine_tokens_per_s_32", Stats.Median(alone))
            .Add("grid_vs_engine_32", Stats.Median(grid[32]) / Stats.Median(alone))
            .Add("grid_sampled_vs_greedy_32", Stats.Median(sampled) / Stats.Median(grid[32]))
            .Add("grid_top_p_vs_greedy_32", Stats.Median(topP) / Stats.Median(grid[32]))
            .Add("grid_top_k_tokens_per_s_32", Stats.Median(topK))
            .Add("grid_top_k_vs_greedy_32", Stats.Median(topK) / Stats.Median(grid[32]))
            .Add("grid_logprobs_tokens_per_s_32", Stats.Median(logprobs))
            .Add("grid_logprobs_vs_greedy_32", Stats.Median(logprobs) / Stats.Median(grid[32]))
            .Add("grid_logprobs_vs_sampled_32", Stats.Median(logprobs) / Stats.Median(sampled));

        if (custom is null)
        {
            await SmallVocabularyAsync(report, rounds, newTokens, promptLength, waves, load with { IntraOpThreads = intraOp }, engines);
        }

        if (args.GetValue(s_nodes))
        {
            await TwoNodesAsync(report, rounds, newTokens, prompts, modelSettings);
        }

        return report;
    }

    /// <summary>
    /// The grid against the engine alone on the small-vocabulary demo variant (1,000 ids): with a cheap LM head the
    /// per-token cost of the serving path (grains, SSE, HTTP) shows. Measured twice, in one process:
    /// <list type="bullet">
    /// <item>cold (<c>_cold</c> keys): waves of 32 requests right after start, as a freshly started silo serves them,
    /// while the runtime is still compiling the grid's code;</item>
    /// <item>steady (the main keys): after the JIT has settled (<see cref="SettleAsync"/>), 32 clients each sending
    /// <paramref name="waves"/> requests back to back, against 32 submitters doing the same on the engine, so a round is
    /// sustained serving rather than one wave's ramp and drain; each side's measured round follows one of its own
    /// (<see cref="CompareAsync"/>);</item>
    /// <item>the floor (<c>floor_</c> keys): the same engine behind <see cref="HttpFloor"/>, the thinnest server of it,
    /// to the same clients, against the engine alone in the same way;</item>
    /// <item>the grain floors (<c>shared_grain_floor_</c>, <c>grain_floor_</c> and <c>admitted_grain_floor_</c> keys): that
    /// server with one grain between its HTTP handler and the engine, shared by every request or a new one per request,
    /// and the last admitted and settled by a tenant grain (<see cref="FloorPath"/>).</item>
    /// </list>
    /// With <paramref name="engineCount"/> above 1, each side runs that many engines with an equal share of the 32
    /// sequences (<see cref="EngineSet"/>; the grid's node a CPU device per engine), and costs and steps add up over them.
    /// </summary>
    private static async Task SmallVocabularyAsync(BenchmarkReport report, int rounds, int newTokens, int promptLength, int waves, ModelLoadOptions load, int engineCount)
    {
        var spec = EngineBenchmark.SmallVocabulary;
        var batch = 32 / engineCount;
        await using var alone = EngineSet.Load(DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, spec), load, engineCount, batch, promptLength);
        var prompts = Workload.Prompts(alone.Model, 32, promptLength);
        alone.Assign(prompts);
        // The grid's node runs as many engines, one per CPU device, each with the same share of the batch.
        string[] devices = [.. Enumerable.Range(0, engineCount).Select(i => $"cpu{i}")];
        string[] settings = ["--TokenGrid:Models:DemoSpec:VocabSize", $"{spec.VocabSize}", "--TokenGrid:Nodes:Engine:MaxBatchSize", $"{batch}"];
        await using var app = await StartGridAsync(devices, load.IntraOpThreads, portOffset: 3, settings);
        using var http = Client(app);
        await StreamAllAsync(http, prompts.Take(4).ToList(), 4);
        await alone.RunAsync(prompts.Take(4).ToList(), 4);
        var cold = await CompareAsync(
            rounds,
            () => StreamAllAsync(http, prompts, newTokens),
            () => alone.RunAsync(prompts, newTokens),
            paired: false,
            NodeEngines(app),
            alone.Statistics);
        // The steady comparison of a grid (its client and its node's engines) with the engines alone.
        Task<Comparison> SteadyAsync(HttpClient client, WebApplication grid, ConcurrentQueue<double>? firstText = null) => CompareAsync(
            rounds,
            () => SustainedAsync(prompts, waves, p => StreamAllAsync(client, [p], newTokens, firstText: firstText)),
            () => SustainedAsync(prompts, waves, p => alone.RunAsync([p], newTokens)),
            paired: true,
            NodeEngines(grid),
            alone.Statistics);

        var settle = await SettleAsync(() => StreamAllAsync(http, prompts, newTokens), () => alone.RunAsync(prompts, newTokens));
        var gridFirstText = new ConcurrentQueue<double>();
        var steady = await SteadyAsync(http, app, gridFirstText);
        await app.StopAsync();

        // The same engine behind the thinnest HTTP server, paced as the grid's node paces (HttpFloor): the engine alone
        // over it is the bound HTTP, SSE and the clients set on these cores, and the grid over it what the grid costs.
        var floorFirstText = new ConcurrentQueue<double>();
        var floor = await FloorAsync(alone, prompts, rounds, waves, newTokens, FloorPath.Direct, floorFirstText);
        // The same floor with one grain between the HTTP handler and the engine, shared or a new one per request: the
        // least any path pays that reaches tokens only through grains (docs/benchmarks.md, "the grain floors").
        var grainFloors = new List<(string Side, Comparison Result)>();
        foreach (var (side, path) in GrainFloors)
        {
            grainFloors.Add((side, await FloorAsync(alone, prompts, rounds, waves, newTokens, path, null)));
        }

        // The same grid relaying every decode step's token at once (stream interval 0), in rounds of its own against
        // the engine, so the pacing's effect is a ratio taken in the same run.
        await using var unpaced = await StartGridAsync(devices, load.IntraOpThreads, portOffset: 4, [.. settings, "--TokenGrid:Nodes:StreamInterval", "00:00:00"]);
        using var unpacedHttp = Client(unpaced);
        await StreamAllAsync(unpacedHttp, prompts.Take(4).ToList(), 4);
        var unpacedSettle = await SettleAsync(() => StreamAllAsync(unpacedHttp, prompts, newTokens), () => alone.RunAsync(prompts, newTokens));
        var gridUnpaced = await SteadyAsync(unpacedHttp, unpaced);
        await unpaced.StopAsync();
        report
            .Add("small_model", spec.CacheKey)
            .Add("small_intra_op_threads", load.IntraOpThreads)
            .Add("small_engines", engineCount)
            .Add("waves", waves)
            .Add("grid_tokens_per_s_32_small_cold", cold.Grid)
            .Add("engine_tokens_per_s_32_small_cold", cold.Engine)
            .Add("grid_vs_engine_32_small_cold", cold.Ratio)
            .Add("jit_settle_s_small", settle.Seconds)
            .Add("jit_share_at_settle_small", settle.JitShare)
            .Add("jit_settle_s_small_unpaced", unpacedSettle.Seconds)
            .Add("grid_tokens_per_s_32_small_unpaced", gridUnpaced.Grid)
            .Add("grid_vs_engine_32_small_unpaced", gridUnpaced.Ratio)
            .Add("grid_tokens_per_s_32_small", steady.Grid)
            .Add("engine_tokens_per_s_32_small", steady.Engine)
            .Add("grid_vs_engine_32_small", steady.Ratio)
            .Add("grid_vs_engine_32_small_paired", steady.PairedRatio)
            .Add("grid_vs_engine_32_small_round_min", steady.RoundRatios.Min())
            .Add("grid_vs_engine_32_small_round_max", steady.RoundRatios.Max());
        AddCosts(report, "grid", "_unpaced", gridUnpaced.GridCpu);
        AddCosts(report, "grid", "", steady.GridCpu);
        AddCosts(report, "engine", "", steady.EngineCpu);
        report
            .Add("floor_tokens_per_s_32_small", floor.Grid)
            .Add("floor_engine_tokens_per_s_32_small", floor.Engine)
            .Add("floor_vs_engine_32_small", floor.Ratio)
            .Add("floor_vs_engine_32_small_paired", floor.PairedRatio)
            .Add("grid_vs_floor_32_small", steady.Ratio / floor.Ratio)
            .Add("grid_first_text_ms_p50_32_small", Stats.Percentile([.. gridFirstText], 0.5))
            .Add("grid_first_text_ms_p90_32_small", Stats.Percentile([.. gridFirstText], 0.9))
            .Add("floor_first_text_ms_p50_32_small", Stats.Percentile([.. floorFirstText], 0.5))
            .Add("floor_first_text_ms_p90_32_small", Stats.Percentile([.. floorFirstText], 0.9));
        AddCosts(report, "floor", "", floor.GridCpu);
        AddCosts(report, "floor_engine", "", floor.EngineCpu);
        foreach (var (side, result) in grainFloors)
        {
            report
                .Add($"{side}_vs_engine_32_small", result.Ratio)
                .Add($"{side}_vs_engine_32_small_paired", result.PairedRatio)
                .Add($"grid_vs_{side}_32_small", steady.Ratio / result.Ratio);
            AddCosts(report, side, "", result.GridCpu);
        }

        // Both sides keep every core busy, so the ratio is about the engine's CPU per token over the grid's: the grid's
        // model threads' CPU per token over the engine's (contention), and serving's share of the grid's CPU, say which
        // of the two a shortfall comes from (docs/benchmarks.md, "the small-vocabulary grid's CPU").
        report
            .Add("model_cpu_grid_over_engine_32_small", steady.GridCpu.ModelMicrosecondsPerToken / steady.EngineCpu.ModelMicrosecondsPerToken)
            .Add("grid_serving_cpu_share_32_small", steady.GridCpu.ServingMicrosecondsPerToken / steady.GridCpu.MicrosecondsPerToken);
    }

    /// <summary>The grain floors' key prefixes and paths, in the order they run (docs/benchmarks.md, "the grain floors").</summary>
    private static readonly (string Side, FloorPath Path)[] GrainFloors =
    [
        ("shared_grain_floor", FloorPath.SharedGrain),
        ("grain_floor", FloorPath.GrainPerRequest),
        ("admitted_grain_floor", FloorPath.AdmittedGrainPerRequest),
    ];

    /// <summary>
    /// The engines of <paramref name="alone"/> served over <see cref="HttpFloor"/> to the same clients, against the engines
    /// alone, in turns after the floor's own code has settled; the floor's rates and costs are the comparison's grid side.
    /// </summary>
    private static async Task<Comparison> FloorAsync(
        EngineSet alone, IReadOnlyList<int[]> prompts, int rounds, int waves, int newTokens, FloorPath path, ConcurrentQueue<double>? firstText)
    {
        await using var floor = await HttpFloor.StartAsync(alone.Engines, new NodeOptions().StreamInterval, path);
        using var http = floor.Client();
        await SettleAsync(() => StreamAllAsync(http, prompts, newTokens), () => alone.RunAsync(prompts, newTokens));
        return await CompareAsync(
            rounds,
            () => SustainedAsync(prompts, waves, p => StreamAllAsync(http, [p], newTokens, firstText: firstText)),
            () => SustainedAsync(prompts, waves, p => alone.RunAsync([p], newTokens)),
            paired: true,
            alone.Statistics,
            alone.Statistics);
    }

    /// <summary>A side's <see cref="SideCost"/> figures under <c>{side}_..._32_small{suffix}</c> keys.</summary>
    private static void AddCosts(BenchmarkReport report, string side, string suffix, SideCost cost) => report
        .Add($"{side}_cpu_us_per_token_32_small{suffix}", cost.MicrosecondsPerToken)
        .Add($"{side}_model_cpu_us_per_token_32_small{suffix}", cost.ModelMicrosecondsPerToken)
        .Add($"{side}_serving_cpu_us_per_token_32_small{suffix}", cost.ServingMicrosecondsPerToken)
        .Add($"{side}_alloc_bytes_per_token_32_small{suffix}", cost.BytesPerToken)
        .Add($"{side}_sequences_per_step_32_small{suffix}", cost.SequencesPerStep)
        .Add($"{side}_ms_per_step_32_small{suffix}", cost.MillisecondsPerStep)
        .Add($"{side}_model_share_32_small{suffix}", cost.ModelShare);

    /// <summary>
    /// Rates of the grid and the engine, in turns over <paramref name="rounds"/>, with CPU and allocations per token.
    /// With <paramref name="paired"/> each side runs twice in a row and only the second run is measured: what one side
    /// leaves running as it ends (ONNX Runtime's spinning workers, the grid's settlements and job records, collections)
    /// then lands in its own unmeasured run, not in the other side's measured one. Measured here, the engine right after
    /// a grid round ran 15-20% slower than right after its own, which flattered the grid's ratio.
    /// </summary>
    private static async Task<Comparison> CompareAsync(
        int rounds, Func<Task<long>> grid, Func<Task<long>> engine, bool paired, IReadOnlyList<EngineStatistics> gridEngines, IReadOnlyList<EngineStatistics> aloneEngines)
    {
        var gridRates = new List<double>();
        var engineRates = new List<double>();
        var gridCpu = new SideCost(gridEngines);
        var engineCpu = new SideCost(aloneEngines);
        for (var round = 0; round < rounds; round++)
        {
            if (paired)
            {
                await grid();
            }

            gridRates.Add(await Workload.RateAsync(() => gridCpu.MeasureAsync(grid)));
            if (paired)
            {
                await engine();
            }

            engineRates.Add(await Workload.RateAsync(() => engineCpu.MeasureAsync(engine)));
        }

        var roundRatios = gridRates.Zip(engineRates, (g, e) => g / e).ToList();
        return new Comparison(Stats.Median(gridRates), Stats.Median(engineRates), gridCpu, engineCpu, roundRatios);
    }

    /// <summary>
    /// A comparison's medians, costs and per-round ratios. <see cref="Ratio"/> divides the two sides' medians; <see
    /// cref="PairedRatio"/> is the median of each round's grid rate over the engine rate measured right after it. The
    /// machine's speed can change within a run (docs/benchmarks.md): a round's two sides are seconds apart, so their
    /// ratio is the one least moved by it, and the rounds' spread shows how much it moved.
    /// </summary>
    private sealed record Comparison(double Grid, double Engine, SideCost GridCpu, SideCost EngineCpu, IReadOnlyList<double> RoundRatios)
    {
        public double Ratio => Grid / Engine;

        public double PairedRatio => Stats.Median(RoundRatios);
    }

    /// <summary>
    /// Runs <paramref name="grid"/> and <paramref name="engine"/> in turns until the runtime's JIT has settled: its
    /// compilation time grew by under 1% of the wall time over the last two seconds (at most two minutes). A freshly
    /// started grid spends up to two thirds of a core on tiering its code up for the first 30-45 s here; rounds
    /// measured then compare the JIT, not the serving path. Returns how long it took and the last window's JIT share.
    /// </summary>
    private static async Task<(double Seconds, double JitShare)> SettleAsync(Func<Task<long>> grid, Func<Task<long>> engine)
    {
        var clock = Stopwatch.StartNew();
        var windowStart = clock.Elapsed;
        var jitAtStart = JitInfo.GetCompilationTime();
        while (true)
        {
            await grid();
            await engine();
            var window = clock.Elapsed - windowStart;
            if (window < TimeSpan.FromSeconds(2))
            {
                continue;
            }

            var jit = JitInfo.GetCompilationTime();
            var share = (jit - jitAtStart) / window;
            if (share < 0.01 || clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                return (clock.Elapsed.TotalSeconds, share);
            }

            windowStart = clock.Elapsed;
            jitAtStart = jit;
        }
    }

    /// <summary>The engines the grid's nodes (one per device) run the demo model on (each node preloads it as it starts).</summary>
    private static IReadOnlyList<EngineStatistics> NodeEngines(WebApplication app) =>
        [.. app.Services.GetRequiredService<NodeRuntime>().Devices.Select(device => device.Models.TryGetEngine("demo", out var engine)
            ? engine.Statistics
            : throw new InvalidOperationException($"The grid's node {device.NodeId} has not loaded the demo model."))];

    /// <summary>
    /// One client per prompt, each running <paramref name="one"/> (a streamed completion through the grid, or a request
    /// to the engine alone) <paramref name="waves"/> times back to back; returns the completion tokens they report.
    /// </summary>
    private static async Task<long> SustainedAsync(IReadOnlyList<int[]> prompts, int waves, Func<int[], Task<long>> one)
    {
        var counts = await Task.WhenAll(prompts.Select(async prompt =>
        {
            long tokens = 0;
            for (var wave = 0; wave < waves; wave++)
            {
                tokens += await one(prompt);
            }

            return tokens;
        }));
        return counts.Sum();
    }

    /// <summary>
    /// Scale-out across nodes: one node against two, each engine on one intra-op thread so each node has its own
    /// core (2 cores here), interleaved over the same rounds.
    /// </summary>
    private static async Task TwoNodesAsync(BenchmarkReport report, int rounds, int newTokens, IReadOnlyList<int[]> prompts, string[] modelSettings)
    {
        await using var one = await StartGridAsync(["cpu0"], intraOpThreads: 1, portOffset: 1, modelSettings);
        await using var two = await StartGridAsync(["cpu0", "cpu1"], intraOpThreads: 1, portOffset: 2, modelSettings);
        using var oneHttp = Client(one);
        using var twoHttp = Client(two);
        await StreamAllAsync(oneHttp, prompts.Take(4).ToList(), 4);
        await StreamAllAsync(twoHttp, prompts.Take(4).ToList(), 4);
        var oneNode = new List<double>();
        var twoNodes = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            oneNode.Add(await Workload.RateAsync(() => StreamAllAsync(oneHttp, prompts, newTokens)));
            twoNodes.Add(await Workload.RateAsync(() => StreamAllAsync(twoHttp, prompts, newTokens)));
        }

        await one.StopAsync();
        await two.StopAsync();
        report
            .Add("grid_1_node_pinned_tokens_per_s_32", Stats.Median(oneNode))
            .Add("grid_2_nodes_pinned_tokens_per_s_32", Stats.Median(twoNodes))
            .Add("two_nodes_vs_one", Stats.Median(twoNodes) / Stats.Median(oneNode));
    }

    /// <summary>A client of <paramref name="app"/>'s API with the demo tenant's key.</summary>
    internal static HttpClient Client(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return http;
    }

    /// <summary>
    /// Starts a local-profile grid in this process with a demo tenant whose limits are far above any load, on
    /// <paramref name="devices"/>, plus <paramref name="settings"/>; returns once it is ready.
    /// </summary>
    internal static async Task<WebApplication> StartGridAsync(string[] devices, int intraOpThreads, int portOffset, params string[] settings)
    {
        List<string> args =
        [
            "--profile", "local", "--urls", "http://127.0.0.1:0",
            "--TokenGrid:Cluster:SiloPort", $"{11411 + portOffset}",
            "--TokenGrid:Cluster:ClusterId", $"bench-{portOffset}", "--TokenGrid:Cluster:SiloName", $"bench{portOffset}",
            "--TokenGrid:Nodes:IntraOpThreads", $"{intraOpThreads}",
            "--TokenGrid:Admin:ApiKey", "tg-bench-admin-0123456789", "--TokenGrid:Demo:ApiKey", Key,
            "--TokenGrid:Demo:Budget:RequestsPerMinute", "1000000", "--TokenGrid:Demo:Budget:TokensPerMinute", "1000000000",
            "--TokenGrid:Demo:Budget:MaxConcurrentJobs", "1000", "--TokenGrid:Demo:Budget:PeriodQuota", "1000000000000",
            "--TokenGrid:Nodes:Engine:MaxBatchSize", "32", "--Logging:LogLevel:Default", "Warning",
        ];
        for (var i = 0; i < devices.Length; i++)
        {
            args.AddRange([$"--TokenGrid:Nodes:Devices:{i}", devices[i]]);
        }

        args.AddRange(settings);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. args], ApplicationName = "TokenGrid.Silo" });
        builder.AddTokenGrid();
        var app = builder.Build();
        app.MapTokenGrid();
        await app.StartAsync();
        using var http = Client(app);
        while (!(await http.GetAsync("/health/ready")).IsSuccessStatusCode)
        {
            await Task.Delay(100);
        }

        return app;
    }

    /// <summary>
    /// One streamed completion per prompt, all at once; returns the completion tokens the streams report. With
    /// <paramref name="firstText"/>, each request's time from sending to its first text (milliseconds) is added to it.
    /// </summary>
    internal static async Task<long> StreamAllAsync(
        HttpClient http, IReadOnlyList<int[]> prompts, int newTokens, float temperature = 0f, float topP = 1f, ConcurrentQueue<double>? firstText = null,
        int topK = 0, float repetitionPenalty = 1f, int? logprobs = null)
    {
        var counts = await Task.WhenAll(prompts.Select(async prompt =>
        {
            var usage = await StreamUsageAsync(http, new
            {
                model = "demo",
                prompt,
                max_tokens = newTokens,
                temperature,
                top_p = topP,
                top_k = topK,
                repetition_penalty = repetitionPenalty,
                logprobs,
                stream = true,
                stream_options = new { include_usage = true },
            }, firstText);
            return usage["completion_tokens"]!.GetValue<long>();
        }));
        return counts.Sum();
    }

    /// <summary>
    /// Streams one completion of <paramref name="body"/> (with <c>include_usage</c>) to its end; returns its usage. With
    /// <paramref name="firstText"/>, adds the time from sending to the first event with text (a tenant's time to first
    /// token), in milliseconds.
    /// </summary>
    internal static async Task<JsonNode> StreamUsageAsync(HttpClient http, object body, ConcurrentQueue<double>? firstText = null)
    {
        var sent = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"A benchmark completion failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        JsonNode? usage = null;
        var textSeen = firstText is null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!textSeen && line.StartsWith("data: {", StringComparison.Ordinal) && HasText(line))
            {
                textSeen = true;
                firstText!.Enqueue(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }

            if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"usage\":{", StringComparison.Ordinal))
            {
                usage = JsonNode.Parse(line.AsSpan(6).ToString())!["usage"];
            }
        }

        return usage ?? throw new InvalidOperationException("A benchmark stream ended without its usage.");
    }

    /// <summary>Whether an event's line carries generated text: a completion chunk's <c>"text"</c> that is not empty.</summary>
    internal static bool HasText(string line)
    {
        const string Field = "\"text\":\"";
        var at = line.IndexOf(Field, StringComparison.Ordinal);
        return at >= 0 && at + Field.Length < line.Length && line[at + Field.Length] != '"';
    }

    private static async Task<long> EngineAsync(InferenceEngine engine, IReadOnlyList<int[]> prompts, int newTokens)
    {
        var streams = prompts.Select(p => engine.Submit(new GenerationRequest { PromptTokens = p, MaxTokens = newTokens }).Stream
            ?? throw new InvalidOperationException("The engine refused a benchmark request.")).ToList();
        var results = await Task.WhenAll(streams.Select(s => s.Completion));
        return results.Sum(r => (long)r.CompletionTokens);
    }

    /// <summary>
    /// What one side's measured rounds cost. The process's CPU time (all threads: decode loop, ONNX Runtime's pool,
    /// grains, HTTP, the benchmark's own clients) per generated token: unlike a rate it barely moves with other load on
    /// the machine, so it shows what the serving path costs per token even when the ratios are noisy. Spinning threads
    /// (ONNX Runtime's intra-op pool, idle thread-pool workers) count too. The bytes allocated per token (all threads)
    /// do not depend on the load at all. With the side's engine statistics, also how its decode loop spent the rounds:
    /// sequences per decode step, milliseconds per decode step, and the share of the wall time spent running the model
    /// (decode and prefill). The grid's rate over the engine's is about the product of those three ratios, so they say
    /// which of them a shortfall comes from.
    /// </summary>
    private sealed class SideCost(IReadOnlyList<EngineStatistics> statistics)
    {
        private TimeSpan _cpu;
        private TimeSpan _modelCpu;
        private TimeSpan _wall;
        private long _allocated;
        private long _tokens;
        private long _steps;
        private long _batched;
        private TimeSpan _model;
        private TimeSpan _decode;

        public double MicrosecondsPerToken => _tokens == 0 ? 0 : _cpu.TotalMicroseconds / _tokens;

        /// <summary>CPU per token of the model's threads: the decode loops and ONNX Runtime's pools (see <see cref="ModelThreads"/>).</summary>
        public double ModelMicrosecondsPerToken => _tokens == 0 ? 0 : _modelCpu.TotalMicroseconds / _tokens;

        /// <summary>CPU per token of every other thread: what serving costs (the benchmark's own clients included).</summary>
        public double ServingMicrosecondsPerToken => MicrosecondsPerToken - ModelMicrosecondsPerToken;

        public double BytesPerToken => _tokens == 0 ? 0 : (double)_allocated / _tokens;

        public double SequencesPerStep => _steps == 0 ? 0 : (double)_batched / _steps;

        public double MillisecondsPerStep => _steps == 0 ? 0 : _decode.TotalMilliseconds / _steps;

        /// <summary>The share of the wall time each engine spent running its model, on average over the engines.</summary>
        public double ModelShare => _wall <= TimeSpan.Zero || statistics.Count == 0 ? 0 : _model / _wall / statistics.Count;

        public async Task<long> MeasureAsync(Func<Task<long>> work)
        {
            var engines = statistics.Select(s => s.Snapshot()).ToList();
            var before = Process.GetCurrentProcess().TotalProcessorTime;
            var modelBefore = ModelThreads.CpuTime();
            var allocated = GC.GetTotalAllocatedBytes();
            var clock = Stopwatch.StartNew();
            var tokens = await work();
            _wall += clock.Elapsed;
            _allocated += GC.GetTotalAllocatedBytes() - allocated;
            _cpu += Process.GetCurrentProcess().TotalProcessorTime - before;
            _modelCpu += ModelThreads.CpuTime() - modelBefore;
            _tokens += tokens;
            for (var i = 0; i < engines.Count; i++)
            {
                var (engine, after) = (engines[i], statistics[i].Snapshot());
                _steps += after.DecodeSteps - engine.DecodeSteps;
                _batched += after.BatchedSequences - engine.BatchedSequences;
                _decode += after.DecodeTime - engine.DecodeTime;
                _model += after.DecodeTime - engine.DecodeTime + (after.PrefillTime - engine.PrefillTime);
            }

            return tokens;
        }
    }
}
