using System.CommandLine;
using TokenGrid.Benchmarks.Grid;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Benchmarks.Engine;

/// <summary>
/// One long conversation among short ones: a batch of 32 where one prompt is long (a chat's history) and 31 are short,
/// decoded by an engine that splits its batch into lanes and by one that runs it whole (every row padded to the long
/// one), side by side, for several lengths of the long prompt; and 32 short prompts, the batch with nothing long in it.
/// Every request samples at OpenAI's default temperature (1), each with a seed of its own.
/// On the demo model with a 4,096-position context (or <c>--model DIR</c>). With <c>--http</c>, also the same batches as
/// 32 streaming clients of two local grids, one with lanes and one without, taking turns (<see cref="HttpAsync"/>).
/// </summary>
public static class LaneBenchmark
{
    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians are reported.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 128, "New tokens per sequence.");
    private static readonly Option<int> s_prompt = BenchmarkCommand.Int("--prompt", 16, "Length of the short prompts in tokens.");
    private static readonly Option<int[]> s_long = new("--long")
    {
        Description = "Lengths of the long prompt, in tokens.",
        DefaultValueFactory = _ => [100, 250, 500, 1000, 2000],
        AllowMultipleArgumentsPerToken = true,
        HelpName = "N",
    };

    private static readonly Option<int?> s_split = new("--split-positions")
    {
        Description = "The lanes engine's DecodeLaneSplitPositions (0: split at any saving). Default: the engine's, from the model.",
        HelpName = "N",
    };

    private static readonly Option<bool> s_http = new("--http") { Description = "Also run the batches over HTTP: two local grids, with lanes and with one lane." };
    private static readonly Option<string?> s_model = BenchmarkCommand.Model();
    private static readonly Option<ExecutionProviderPreference> s_provider = ProviderOption.Create();

    /// <summary>The demo model with room for long conversations.</summary>
    internal static DemoModelSpec LongContext { get; } = DemoModelSpec.Default with { ContextLength = 4096 };

    /// <summary>The <c>lanes</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "lanes", "One long prompt among 31 short ones: decode lanes against one padded batch (demo model, 4,096 context, or --model DIR).",
        RunAsync, s_rounds, s_tokens, s_prompt, s_long, s_split, s_http, s_model, s_provider);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var promptLength = args.GetValue(s_prompt);
        var custom = args.GetValue(s_model);
        var longs = args.GetValue(s_long)!;
        if (longs.Length == 0 || longs.Any(l => l < 1))
        {
            throw new BenchmarkUsageException("--long must be at least 1.");
        }

        if (args.GetValue(s_split) < 0)
        {
            throw new BenchmarkUsageException("--split-positions must not be negative.");
        }

        var directory = custom ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, LongContext);
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider) });
        if (longs.Any(l => l + newTokens > model.Config.ContextLength))
        {
            throw new BenchmarkUsageException($"every --long must leave room for --tokens in the model's context ({model.Config.ContextLength}).");
        }

        // No prefix cache: every round prefills the long prompt again, on both sides alike.
        await using var lanes = new InferenceEngine(model, new EngineOptions
        {
            MaxBatchSize = 32,
            PrefixCacheTokens = 0,
            DecodeLaneSplitPositions = args.GetValue(s_split),
            ThreadName = "tokengrid-engine-lanes",
        });
        await using var oneLane = new InferenceEngine(model, new EngineOptions { MaxBatchSize = 32, PrefixCacheTokens = 0, MaxDecodeLanes = 1, ThreadName = "tokengrid-engine-one-lane" });
        var shortPrompts = Workload.Prompts(model, 32, promptLength);
        var longPrompts = longs.ToDictionary(l => l, l => Workload.Prompts(model, 1, l)[0]);
        List<int[]> Mixed(int length) => [longPrompts[length], .. shortPrompts.Skip(1)];

        await EngineBenchmark.GenerateAsync(lanes, Mixed(longs[0]), 4, EngineBenchmark.Sampled);
        await EngineBenchmark.GenerateAsync(oneLane, Mixed(longs[0]), 4, EngineBenchmark.Sampled);
        var rates = new Dictionary<string, List<double>>();
        var runsPerStep = new Dictionary<int, List<double>>();
        void Add(string key, double rate) => (rates.TryGetValue(key, out var list) ? list : rates[key] = []).Add(rate);
        for (var round = 0; round < rounds; round++)
        {
            Add("short", await Workload.RateAsync(() => EngineBenchmark.GenerateAsync(lanes, shortPrompts, newTokens, EngineBenchmark.Sampled)));
            foreach (var length in longs)
            {
                // The sides take turns going first.
                var sides = round % 2 == 0 ? new[] { (lanes, "lanes"), (oneLane, "one") } : [(oneLane, "one"), (lanes, "lanes")];
                foreach (var (engine, name) in sides)
                {
                    var before = engine.Statistics.Snapshot();
                    Add($"{name}{length}", await Workload.RateAsync(() => EngineBenchmark.GenerateAsync(engine, Mixed(length), newTokens, EngineBenchmark.Sampled)));
                    if (engine == lanes)
                    {
                        var after = engine.Statistics.Snapshot();
                        (runsPerStep.TryGetValue(length, out var list) ? list : runsPerStep[length] = [])
                            .Add((double)(after.DecodeRuns - before.DecodeRuns) / Math.Max(1, after.DecodeSteps - before.DecodeSteps));
                    }
                }
            }
        }

        double M(string key) => Stats.Median(rates[key]);
        var report = new BenchmarkReport("lanes")
            .Add("model", custom ?? LongContext.CacheKey)
            .Add("provider", model.Provider.ToString())
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("new_tokens", newTokens)
            .Add("prompt_tokens", promptLength)
            .Add("split_positions", lanes.LaneSplitPositions)
            .Add("short_tokens_per_s_b32", M("short"));
        foreach (var length in longs)
        {
            report
                .Add($"lanes_tokens_per_s_long{length}", M($"lanes{length}"))
                .Add($"one_lane_tokens_per_s_long{length}", M($"one{length}"))
                .Add($"lanes_vs_one_lane_long{length}", M($"lanes{length}") / M($"one{length}"))
                .Add($"lanes_vs_short_long{length}", M($"lanes{length}") / M("short"))
                .Add($"one_lane_vs_short_long{length}", M($"one{length}") / M("short"))
                .Add($"runs_per_step_long{length}", Stats.Median(runsPerStep[length]));
        }

        if (args.GetValue(s_http))
        {
            await HttpAsync(report, args, shortPrompts, longPrompts, model.Provider, lanes.LaneSplitPositions);
        }

        return report;
    }

    /// <summary>
    /// The same batches over HTTP: 32 clients stream completions (one long prompt among 31 short ones, and 32 short ones)
    /// from two local grids serving the same model with no prefix cache, one splitting its batches into lanes and one
    /// with <c>MaxDecodeLanes</c> 1, taking turns going first; every request at temperature 1 with a seed of its own.
    /// <c>grid_*</c> keys: all clients' completion tokens per second.
    /// </summary>
    private static async Task HttpAsync(
        BenchmarkReport report, ParseResult args, IReadOnlyList<int[]> shortPrompts, IReadOnlyDictionary<int, int[]> longPrompts,
        ExecutionProviderKind provider, long splitPositions)
    {
        var rounds = args.GetValue(s_rounds);
        var newTokens = args.GetValue(s_tokens);
        var custom = args.GetValue(s_model);
        var device = provider == ExecutionProviderKind.Cuda ? "gpu0" : "cpu0";
        string[] settings =
        [
            .. custom is null
                ? new[] { "--TokenGrid:Models:DemoSpec:ContextLength", $"{LongContext.ContextLength}" }
                : ["--TokenGrid:Models:Entries:0:Name", "demo", "--TokenGrid:Models:Entries:0:Directory", custom],
            "--TokenGrid:Nodes:Provider", args.GetValue(s_provider).ToString(),
            "--TokenGrid:Nodes:Engine:PrefixCacheTokens", "0",
            "--TokenGrid:Nodes:Engine:DecodeLaneSplitPositions", $"{splitPositions}",
        ];
        await using var lanesGrid = await GridBenchmark.StartGridAsync([device], intraOpThreads: 0, portOffset: 60, settings);
        await using var oneLaneGrid = await GridBenchmark.StartGridAsync([device], intraOpThreads: 0, portOffset: 61, [.. settings, "--TokenGrid:Nodes:Engine:MaxDecodeLanes", "1"]);
        using var lanesHttp = GridBenchmark.Client(lanesGrid);
        using var oneLaneHttp = GridBenchmark.Client(oneLaneGrid);
        var longs = longPrompts.Keys.Order().ToList();
        List<int[]> Mixed(int length) => [longPrompts[length], .. shortPrompts.Skip(1)];

        // Both grids compile their serving path before anything is measured.
        foreach (var http in new[] { lanesHttp, oneLaneHttp })
        {
            await StreamAsync(http, Mixed(longs[0]), 8);
            await StreamAsync(http, shortPrompts, newTokens);
        }

        var rates = new Dictionary<string, List<double>>();
        void Add(string key, double rate) => (rates.TryGetValue(key, out var list) ? list : rates[key] = []).Add(rate);
        for (var round = 0; round < rounds; round++)
        {
            Add("short", await Workload.RateAsync(() => StreamAsync(lanesHttp, shortPrompts, newTokens)));
            foreach (var length in longs)
            {
                var sides = round % 2 == 0 ? new[] { (lanesHttp, "lanes"), (oneLaneHttp, "one") } : [(oneLaneHttp, "one"), (lanesHttp, "lanes")];
                foreach (var (http, name) in sides)
                {
                    Add($"{name}{length}", await Workload.RateAsync(() => StreamAsync(http, Mixed(length), newTokens)));
                }
            }
        }

        await lanesGrid.StopAsync();
        await oneLaneGrid.StopAsync();
        double M(string key) => Stats.Median(rates[key]);
        report.Add("grid_short_tokens_per_s_b32", M("short"));
        foreach (var length in longs)
        {
            report
                .Add($"grid_lanes_tokens_per_s_long{length}", M($"lanes{length}"))
                .Add($"grid_one_lane_tokens_per_s_long{length}", M($"one{length}"))
                .Add($"grid_lanes_vs_one_lane_long{length}", M($"lanes{length}") / M($"one{length}"))
                .Add($"grid_lanes_vs_short_long{length}", M($"lanes{length}") / M("short"));
        }
    }

    /// <summary>One streamed completion per prompt, all at once, at temperature 1 with the prompt's index as its seed; the completion tokens.</summary>
    private static async Task<long> StreamAsync(HttpClient http, IReadOnlyList<int[]> prompts, int newTokens)
    {
        var usages = await Task.WhenAll(prompts.Select((prompt, i) => GridBenchmark.StreamUsageAsync(http, new
        {
            model = "demo",
            prompt,
            max_tokens = newTokens,
            temperature = 1f,
            seed = i,
            stream = true,
            stream_options = new { include_usage = true },
        })));
        return usages.Sum(u => u["completion_tokens"]!.GetValue<long>());
    }
}
