using System.CommandLine;
using System.Diagnostics;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Benchmarks.Prefix;

/// <summary>
/// <c>prefix</c> (issue 19): a chat workload of <c>--tenants</c> tenants, each with a <c>--system</c>-token system prompt
/// and <c>--conversations</c> conversations that grow by short turns (<see cref="Conversations"/>), every turn of every
/// conversation sent at once, with OpenAI's default sampling (temperature 1, seeded so both sides generate alike).
/// The engine with its prefix cache on against the same engine with it off, rounds (turns) interleaved in one run: time to
/// first token and prompt tokens actually prefilled. Each tenant has its own cache scope, as the grid gives it.
/// Then the same workload over HTTP on grids of 2 and 3 nodes (<c>--nodes</c>), prefix-aware placement against
/// load-only placement side by side (<see cref="PrefixGrid"/>): hit rate and end-to-end tokens/s.
/// Targets (reported, never asserted): <c>prefix_ttft_on_vs_off</c> at most 0.3, <c>prefix_prefill_on_vs_off</c> at most
/// 0.2, <c>prefix_hit_rate_aware</c> at least 0.9 (<c>prefix_hit_rate_load_only</c> beside it, expected near 1/N).
/// </summary>
public static class PrefixBenchmark
{
    private static readonly Option<int> s_tenants = BenchmarkCommand.Int("--tenants", 8, "Tenants, each with its own system prompt and cache scope.");
    private static readonly Option<int> s_conversations = BenchmarkCommand.Int("--conversations", 2, "Conversations per tenant.");
    private static readonly Option<int> s_turns = BenchmarkCommand.Int("--turns", 5, "Turns per conversation (the rounds).");
    private static readonly Option<int> s_system = BenchmarkCommand.Int("--system", 1000, "System prompt tokens.");
    private static readonly Option<int> s_user = BenchmarkCommand.Int("--user", 20, "Tokens of each user turn.");
    private static readonly Option<int> s_reply = BenchmarkCommand.Int("--reply", 32, "Tokens of each assistant turn: max_tokens, and what the history resends.");
    private static readonly Option<string?> s_model = BenchmarkCommand.Model();
    private static readonly Option<int[]> s_nodes = new("--nodes")
    {
        Description = "Grid sizes for the placement comparison; --nodes 0 skips it.",
        DefaultValueFactory = _ => [2, 3],
        AllowMultipleArgumentsPerToken = true,
        HelpName = "N",
    };

    /// <summary>The setting that turns prefix-aware placement off (load only).</summary>
    private static readonly string[] s_loadOnly = ["--TokenGrid:Scheduling:PrefixAffinityWeight", "0"];
    private static readonly Option<ExecutionProviderPreference> s_provider = ProviderOption.Create();

    /// <summary>The demo model with room for the conversations (the default demo model holds 512 positions).</summary>
    internal static DemoModelSpec Spec { get; } = DemoModelSpec.Default with { ContextLength = 2048 };

    /// <summary>The <c>prefix</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "prefix", "Prefix caching: a chat workload with the engine's prefix cache on against off (time to first token, prefill).",
        RunAsync, s_tenants, s_conversations, s_turns, s_system, s_user, s_reply, s_model, s_provider, s_nodes);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var turns = args.GetValue(s_turns);
        var reply = args.GetValue(s_reply);
        var directory = args.GetValue(s_model) ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, Spec);
        var load = new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider) };
        using var modelOn = DecoderModel.Load(directory, load);
        using var modelOff = DecoderModel.Load(directory, load);
        var conversations = new Conversations(
            modelOn, args.GetValue(s_tenants), args.GetValue(s_conversations), args.GetValue(s_system), args.GetValue(s_user), reply);
        var batch = Math.Max(1, conversations.Tenants * conversations.PerTenant);
        await using var on = new InferenceEngine(modelOn, new EngineOptions { MaxBatchSize = batch });
        await using var off = new InferenceEngine(modelOff, new EngineOptions { MaxBatchSize = batch, PrefixCacheTokens = 0 });

        // Warm-up on prompts of their own (session initialisation, buffer growth, JIT), then empty counters by difference.
        var warm = new Conversations(modelOn, 1, 1, 64, 8, 8);
        await TurnAsync(on, warm, 0, 4);
        await TurnAsync(off, warm, 0, 4);
        var onStart = on.Statistics.Snapshot();
        var offStart = off.Statistics.Snapshot();

        var sides = new Dictionary<InferenceEngine, Side> { [on] = new(), [off] = new() };
        for (var turn = 0; turn < turns; turn++)
        {
            // Alternate which side goes first, so drift over a round hits both alike.
            foreach (var engine in turn % 2 == 0 ? new[] { on, off } : [off, on])
            {
                sides[engine].Add(turn, await TurnAsync(engine, conversations, turn, reply));
            }
        }

        var onEnd = on.Statistics.Snapshot();
        var offEnd = off.Statistics.Snapshot();
        var prefillOn = onEnd.PromptTokens - onStart.PromptTokens;
        var prefillOff = offEnd.PromptTokens - offStart.PromptTokens;
        var cache = onEnd.PrefixCache!;
        var lookups = cache.Lookups - onStart.PrefixCache!.Lookups;
        var hits = cache.Hits - onStart.PrefixCache.Hits;
        var (ttftOn, ttftOff) = (sides[on].Ttft(0), sides[off].Ttft(0));
        var (warmOn, warmOff) = (sides[on].Ttft(1), sides[off].Ttft(1));
        var report = new BenchmarkReport("prefix")
            .Add("processors", Environment.ProcessorCount)
            .Add("tenants", conversations.Tenants)
            .Add("conversations", conversations.Tenants * conversations.PerTenant)
            .Add("turns", turns)
            .Add("system_tokens", args.GetValue(s_system))
            .Add("prefix_ttft_on_ms", ttftOn)
            .Add("prefix_ttft_off_ms", ttftOff)
            .Add("prefix_ttft_on_vs_off", ttftOn / ttftOff)
            .Add("prefix_ttft_later_turns_on_vs_off", warmOn / warmOff)
            .Add("prefix_prefill_on", prefillOn)
            .Add("prefix_prefill_off", prefillOff)
            .Add("prefix_prefill_on_vs_off", (double)prefillOn / prefillOff)
            .Add("prefix_engine_lookup_hit_rate", lookups == 0 ? 0 : (double)hits / lookups)
            .Add("prefix_engine_cached_tokens", cache.CachedTokens - onStart.PrefixCache.CachedTokens)
            .Add("prefix_engine_blocks_held", cache.Blocks)
            .Add("prefix_engine_bytes_held", cache.Bytes)
            .Add("prefix_engine_tokens_per_s_on", sides[on].Rate)
            .Add("prefix_engine_tokens_per_s_off", sides[off].Rate)
            .Add("prefix_engine_tokens_per_s_on_vs_off", sides[on].Rate / sides[off].Rate);
        if (args.GetValue(s_model) is null)
        {
            await PlacementAsync(report, args, conversations, turns, reply);
        }

        return report;
    }

    /// <summary>
    /// The grid part, per size: prefix-aware and load-only grids side by side, turns interleaved. Keys per size (suffix
    /// <c>_N</c>) and pooled over the sizes (no suffix).
    /// </summary>
    private static async Task PlacementAsync(BenchmarkReport report, ParseResult args, Conversations conversations, int turns, int reply)
    {
        var sizes = args.GetValue(s_nodes)!.Where(n => n > 0).ToList();
        var (awareHits, awareTurns, loadHits, loadTurns) = (0.0, 0, 0.0, 0);
        foreach (var nodes in sizes)
        {
            await using var aware = await PrefixGrid.StartAsync(nodes, portOffset: 10 + (2 * nodes), conversations.Tenants);
            await using var loadOnly = await PrefixGrid.StartAsync(nodes, portOffset: 11 + (2 * nodes), conversations.Tenants, s_loadOnly);
            var warm = new Conversations(conversations.Model, 1, 1, 64, 8, 8);
            await aware.TurnAsync(warm, 0, 4, measure: false);
            await loadOnly.TurnAsync(warm, 0, 4, measure: false);
            for (var turn = 0; turn < turns; turn++)
            {
                foreach (var grid in turn % 2 == 0 ? new[] { aware, loadOnly } : [loadOnly, aware])
                {
                    await grid.TurnAsync(conversations, turn, reply, measure: true);
                }
            }

            report
                .Add($"prefix_hit_rate_aware_{nodes}", aware.HitRate)
                .Add($"prefix_hit_rate_load_only_{nodes}", loadOnly.HitRate)
                .Add($"prefix_cached_share_aware_{nodes}", aware.CachedShare)
                .Add($"prefix_cached_share_load_only_{nodes}", loadOnly.CachedShare)
                .Add($"prefix_tokens_per_s_aware_{nodes}", aware.TokensPerSecond)
                .Add($"prefix_tokens_per_s_load_only_{nodes}", loadOnly.TokensPerSecond)
                .Add($"prefix_aware_vs_load_only_tokens_per_s_{nodes}", aware.TokensPerSecond / loadOnly.TokensPerSecond);
            var measured = conversations.Tenants * conversations.PerTenant * (turns - 1);
            (awareHits, awareTurns) = (awareHits + (aware.HitRate * measured), awareTurns + measured);
            (loadHits, loadTurns) = (loadHits + (loadOnly.HitRate * measured), loadTurns + measured);
        }

        if (awareTurns > 0)
        {
            report
                .Add("prefix_hit_rate_aware", awareHits / awareTurns)
                .Add("prefix_hit_rate_load_only", loadHits / loadTurns);
        }
    }

    /// <summary>Turn <paramref name="turn"/> of every conversation, all at once; each tenant in its own cache scope.</summary>
    private static async Task<Turn> TurnAsync(InferenceEngine engine, Conversations conversations, int turn, int reply)
    {
        var clock = Stopwatch.StartNew();
        var streams = conversations.All.Select(c =>
        {
            var submitted = engine.Submit(new GenerationRequest
            {
                PromptTokens = conversations.Prompt(c.Tenant, c.Conversation, turn),
                MaxTokens = reply,
                IgnoreEndOfSequence = true,
                Sampling = new SamplingOptions { Temperature = 1f, Seed = (ulong)((c.Tenant * 1000) + (c.Conversation * 10) + turn) },
                PrefixCacheScope = $"tenant:{c.Tenant}",
            });
            return submitted.Stream ?? throw new InvalidOperationException($"The engine refused a benchmark request: {submitted.Error}");
        }).ToList();
        var results = await Task.WhenAll(streams.Select(s => s.Completion));
        return new Turn(
            [.. results.Select(r => r.TimeToFirstToken!.Value.TotalMilliseconds)],
            results.Sum(r => r.CompletionTokens),
            clock.Elapsed);
    }

    private sealed record Turn(double[] Ttft, long Tokens, TimeSpan Elapsed);

    private sealed class Side
    {
        private readonly List<(int Turn, Turn Result)> _turns = [];

        public double Rate => _turns.Sum(t => t.Result.Tokens) / _turns.Sum(t => t.Result.Elapsed.TotalSeconds);

        public void Add(int turn, Turn result) => _turns.Add((turn, result));

        /// <summary>Median time to first token over the turns from <paramref name="fromTurn"/> on.</summary>
        public double Ttft(int fromTurn) => Stats.Median([.. _turns.Where(t => t.Turn >= fromTurn).SelectMany(t => t.Result.Ttft)]);
    }
}
