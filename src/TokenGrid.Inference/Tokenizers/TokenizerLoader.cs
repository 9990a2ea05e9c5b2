using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tokenizers.HuggingFace;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>
/// Finds and loads a model directory's tokenizer. In order of preference: <c>tokenizer.json</c> (Hugging Face BPE,
/// byte-level or Metaspace with byte fallback), <c>vocab.json</c> + <c>merges.txt</c> (byte-level BPE), <c>tokenizer.model</c> (SentencePiece) and
/// <c>tiktoken.json</c> (<c>{"encoding": "cl100k_base"}</c>, a built-in tiktoken encoding).
/// </summary>
public static partial class TokenizerLoader
{
    /// <summary>Hugging Face's tokenizer file.</summary>
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>GPT-2 style vocabulary.</summary>
    public const string VocabFile = "vocab.json";

    /// <summary>GPT-2 style merges.</summary>
    public const string MergesFile = "merges.txt";

    /// <summary>SentencePiece model.</summary>
    public const string SentencePieceFile = "tokenizer.model";

    /// <summary>Names a built-in tiktoken encoding.</summary>
    public const string TiktokenFile = "tiktoken.json";

    /// <summary>Loads the tokenizer of the model in <paramref name="directory"/>.</summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="bosTokenId">The model's beginning-of-sequence id, used by SentencePiece tokenizers.</param>
    /// <exception cref="InvalidModelException">No tokenizer file, or one that cannot be read.</exception>
    public static ModelTokenizer Load(string directory, int? bosTokenId)
    {
        string File(string name) => Path.Combine(directory, name);
        try
        {
            if (System.IO.File.Exists(File(TokenizerJsonFile)))
            {
                try
                {
                    return TokenizerJsonLoader.Load(File(TokenizerJsonFile));
                }
                catch (InvalidModelException e)
                {
                    throw new InvalidModelException($"The tokenizer in '{directory}' cannot be read: {e.Message}", e);
                }
            }

            if (System.IO.File.Exists(File(VocabFile)) && System.IO.File.Exists(File(MergesFile)))
            {
                return LoadVocabMerges(File(VocabFile), File(MergesFile));
            }

            if (System.IO.File.Exists(File(SentencePieceFile)))
            {
                using var stream = System.IO.File.OpenRead(File(SentencePieceFile));
                var llama = LlamaTokenizer.Create(stream, addBeginOfSentence: bosTokenId is not null, addEndOfSentence: false);
                var special = llama.SpecialTokens ?? new Dictionary<string, int>();
                return new ModelTokenizer(new MlTextTokenizer(llama, special), TokenizerKind.SentencePiece, "SentencePiece tokenizer.model", special);
            }

            if (System.IO.File.Exists(File(TiktokenFile)))
            {
                return LoadTiktoken(File(TiktokenFile));
            }
        }
        // KeyNotFoundException: JsonElement.GetProperty on a missing required property ("model", "vocab").
        catch (Exception e) when (e is JsonException or IOException or FormatException or ArgumentException or InvalidOperationException
            or KeyNotFoundException)
        {
            throw new InvalidModelException($"The tokenizer in '{directory}' cannot be read: {e.Message}", e);
        }

        throw new InvalidModelException(
            $"No tokenizer in '{directory}': expected {TokenizerJsonFile}, {VocabFile} + {MergesFile}, {SentencePieceFile} or {TiktokenFile}.");
    }

    /// <summary>GPT-2's pre-tokenizer pattern: contractions, letters, digits, other symbols, whitespace.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    internal static partial Regex Gpt2Pattern();

    private static ModelTokenizer LoadVocabMerges(string vocabPath, string mergesPath)
    {
        using var vocabStream = System.IO.File.OpenRead(vocabPath);
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(vocabStream)
            ?? throw new InvalidModelException($"{VocabFile} is empty.");
        var merges = System.IO.File.ReadLines(mergesPath)
            .Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal))
            .ToList();
        var special = vocab.Where(kv => kv.Key.StartsWith("<|", StringComparison.Ordinal) && kv.Key.EndsWith("|>", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(Gpt2Pattern(), special),
            SpecialTokens = special,
        });
        return new ModelTokenizer(new MlTextTokenizer(bpe, special), TokenizerKind.ByteLevelBpe, "vocab.json + merges.txt BPE (byte-level)", special);
    }

    private static ModelTokenizer LoadTiktoken(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        using var json = JsonDocument.Parse(stream);
        var encoding = json.RootElement.TryGetProperty("encoding", out var e) && e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw new InvalidModelException($"{TiktokenFile} must name an encoding, for example {{\"encoding\": \"cl100k_base\"}}.");
        var tiktoken = TiktokenTokenizer.CreateForEncoding(encoding);
        var special = tiktoken.SpecialTokens ?? new Dictionary<string, int>();
        return new ModelTokenizer(new MlTextTokenizer(tiktoken, special, encoding), TokenizerKind.Tiktoken, $"tiktoken {encoding}", special);
    }
}
