using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text.Json;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// The parity fixtures made by tests/reference/tokenizer-fixtures.mjs from Hugging Face's tokenizers, and the real
/// tokenizer.json files they came from, which live in the reference tools folder (never committed). Each real
/// tokenizer loads once per test run.
/// </summary>
internal static class ReferenceFixtures
{
    private static readonly ConcurrentDictionary<string, Lazy<ModelTokenizer>> s_tokenizers = new();
    private static readonly Lazy<string[]> s_corpus = new(LoadCorpus);

    /// <summary>The corpus strings, in fixture order.</summary>
    public static IReadOnlyList<string> Corpus => s_corpus.Value;

    /// <summary>
    /// The reference tools folder: <c>$TOKENGRID_REFERENCE_TOOLS</c>, else <c>artifacts/reference-tools</c> of
    /// the repository. Fails (never skips) when it is missing.
    /// </summary>
    public static string ToolsFolder()
    {
        var folder = Environment.GetEnvironmentVariable("TOKENGRID_REFERENCE_TOOLS") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepositoryRoot(), "artifacts", "reference-tools");
        Assert.True(
            Directory.Exists(Path.Combine(folder, "node_modules", "@lenml")),
            $"The reference tools are missing from '{folder}': run `bash scripts/reference-tools.sh` (or set TOKENGRID_REFERENCE_TOOLS).");
        return folder;
    }

    /// <summary>The real tokenizer.json of <paramref name="family"/>, loaded once.</summary>
    public static ModelTokenizer Tokenizer(string family) =>
        s_tokenizers.GetOrAdd(family, f => new Lazy<ModelTokenizer>(() =>
        {
            var directory = Path.Combine(ToolsFolder(), "node_modules", "@lenml", $"tokenizer-{f}", "models");
            Assert.True(File.Exists(Path.Combine(directory, "tokenizer.json")), $"'{directory}/tokenizer.json' is missing: run `bash scripts/reference-tools.sh`.");
            return TokenizerLoader.Load(directory, bosTokenId: null);
        })).Value;

    /// <summary>A fixture file of this folder, parsed.</summary>
    public static JsonDocument Read(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Tokenizers", "Fixtures", name);
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        return JsonDocument.Parse(gzip);
    }

    public static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>Shows control characters, so that a failing text can be read in the test output.</summary>
    public static string Show(string text) => JsonSerializer.Serialize(text);

    private static string[] LoadCorpus()
    {
        using var json = Read("corpus.json.gz");
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
