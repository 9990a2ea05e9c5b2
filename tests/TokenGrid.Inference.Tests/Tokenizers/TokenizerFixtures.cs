using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Tokenizers;

/// <summary>
/// Writes small tokenizer files into a directory: GPT-2 style <c>vocab.json</c> + <c>merges.txt</c>, a Hugging
/// Face <c>tokenizer.json</c> over the same vocabulary, and <c>tiktoken.json</c> naming cl100k_base. The
/// byte-level vocabulary holds the 256 byte characters (ids in GPT-2's order) and a few merged tokens.
/// </summary>
internal static class TokenizerFixtures
{
    /// <summary>Merges in rank order; " the" and "llo" need several of them in turn.</summary>
    public static IReadOnlyList<(string Left, string Right)> Merges { get; } =
        [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "l"), ("ll", "o")];

    /// <summary>Added tokens of the tokenizer.json fixture, with ids after the vocabulary.</summary>
    public static IReadOnlyList<(string Content, bool Special)> AddedTokens { get; } =
        [("<|im_start|>", true), ("<|im_end|>", true), ("<s>", false)];

    /// <summary>The 256 byte characters then the merged tokens, ids counting from 0.</summary>
    public static IReadOnlyDictionary<string, int> ByteLevelVocab { get; } = BuildVocab();

    /// <summary>The id of an added token of the tokenizer.json fixture.</summary>
    public static int AddedTokenId(string content) =>
        ByteLevelVocab.Count + AddedTokens.ToList().FindIndex(t => t.Content == content);

    /// <summary>
    /// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 bytes map in order to
    /// U+0100 onwards, so that every byte has a visible character (space is Ġ, newline is Ċ).
    /// </summary>
    public static IReadOnlyList<(byte Byte, char Char)> BytesToUnicode()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1)
            .Concat(Enumerable.Range('¡', '¬' - '¡' + 1))
            .Concat(Enumerable.Range('®', 'ÿ' - '®' + 1))
            .ToList();
        var map = printable.Select(b => ((byte)b, (char)b)).ToList();
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!printable.Contains(b))
            {
                map.Add(((byte)b, (char)(256 + next++)));
            }
        }

        return map;
    }

    public static ModelTokenizer Load(TempDirectory directory, int? bosTokenId = null) =>
        TokenizerLoader.Load(directory.Path, bosTokenId);

    public static void WriteVocabMerges(TempDirectory directory)
    {
        System.IO.File.WriteAllText(directory.File(TokenizerLoader.VocabFile), JsonSerializer.Serialize(ByteLevelVocab));
        var lines = Merges.Select(m => $"{m.Left} {m.Right}").Prepend("#version: 0.2");
        System.IO.File.WriteAllText(directory.File(TokenizerLoader.MergesFile), string.Join("\n", lines) + "\n");
    }

    /// <summary>
    /// A byte-level BPE tokenizer.json with ChatML added tokens and a post-processor that puts <c>&lt;s&gt;</c>
    /// first. Merges are written as <c>["a", "b"]</c> pairs (newer files) or <c>"a b"</c> strings (older files).
    /// </summary>
    public static void WriteTokenizerJson(TempDirectory directory, bool mergesAsPairs, string modelType = "BPE")
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in ByteLevelVocab)
        {
            vocab[token] = id;
        }

        var merges = new JsonArray([.. Merges.Select(m => mergesAsPairs ? (JsonNode)new JsonArray(m.Left, m.Right) : $"{m.Left} {m.Right}")]);
        var added = new JsonArray([.. AddedTokens.Select(t => (JsonNode)new JsonObject
        {
            ["id"] = AddedTokenId(t.Content),
            ["content"] = t.Content,
            ["single_word"] = false,
            ["lstrip"] = false,
            ["rstrip"] = false,
            ["normalized"] = false,
            ["special"] = t.Special,
        })]);
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(AddedTokenId("<s>")), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject { ["type"] = modelType, ["dropout"] = null, ["unk_token"] = null, ["vocab"] = vocab, ["merges"] = merges },
        };
        System.IO.File.WriteAllText(directory.File(TokenizerLoader.TokenizerJsonFile), root.ToJsonString());
    }

    public static void WriteTiktoken(TempDirectory directory) =>
        System.IO.File.WriteAllText(directory.File(TokenizerLoader.TiktokenFile), """{"encoding":"cl100k_base"}""");

    /// <summary>Loads a fresh cl100k_base tokenizer through <c>tiktoken.json</c>.</summary>
    public static ModelTokenizer LoadCl100k()
    {
        using var directory = new TempDirectory();
        WriteTiktoken(directory);
        return Load(directory);
    }

    /// <summary>Loads a fresh tokenizer from <c>vocab.json</c> + <c>merges.txt</c>.</summary>
    public static ModelTokenizer LoadVocabMerges()
    {
        using var directory = new TempDirectory();
        WriteVocabMerges(directory);
        return Load(directory);
    }

    private static Dictionary<string, int> BuildVocab()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, c) in BytesToUnicode())
        {
            vocab[c.ToString()] = vocab.Count;
        }

        foreach (var (left, right) in Merges)
        {
            vocab[left + right] = vocab.Count;
        }

        return vocab;
    }
}
