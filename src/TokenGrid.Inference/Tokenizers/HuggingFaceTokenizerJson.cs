using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> of BPE type (Microsoft.ML.Tokenizers 2.0.1 has no loader for
/// it): the vocabulary and merges (as <c>"a b"</c> strings or <c>["a", "b"]</c> pairs), added tokens (matched
/// whole, before pre-tokenization), the byte-level pre-tokenizer with its split pattern, and a
/// <c>TemplateProcessing</c> post-processor that puts a beginning-of-sequence token first.
/// </summary>
internal static class HuggingFaceTokenizerJson
{
    public static ModelTokenizer Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var json = JsonDocument.Parse(stream);
        var root = json.RootElement;
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var type) && type.GetString() is { } kind && kind != "BPE")
        {
            throw new InvalidModelException($"{TokenizerLoader.TokenizerJsonFile} has a {kind} model; only BPE is supported.");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in addedTokens.EnumerateArray())
            {
                added[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
            }
        }

        var (byteLevel, pattern) = ReadPreTokenizer(root);
        if (!byteLevel)
        {
            throw new InvalidModelException(
                $"{TokenizerLoader.TokenizerJsonFile} is not byte-level BPE (no ByteLevel pre-tokenizer or decoder); only byte-level BPE is supported.");
        }

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = ReadMerges(model),
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(pattern, added),
            SpecialTokens = added,
            UnknownToken = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String ? unk.GetString() : null,
        });
        return new ModelTokenizer(bpe, TokenizerKind.HuggingFaceBpe, added, ReadLeadingSpecialToken(root, added, vocab));
    }

    private static List<string> ReadMerges(JsonElement model)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var array))
        {
            return merges;
        }

        foreach (var merge in array.EnumerateArray())
        {
            merges.Add(merge.ValueKind == JsonValueKind.Array
                ? $"{merge[0].GetString()} {merge[1].GetString()}"
                : merge.GetString()!);
        }

        return merges;
    }

    /// <summary>Whether the tokenizer is byte-level, and the pattern that splits text before BPE.</summary>
    private static (bool ByteLevel, Regex Pattern) ReadPreTokenizer(JsonElement root)
    {
        var byteLevel = root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object
            && decoder.TryGetProperty("type", out var decoderType) && decoderType.GetString() == "ByteLevel";
        Regex? split = null;
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            var steps = pre.GetProperty("type").GetString() == "Sequence" ? pre.GetProperty("pretokenizers").EnumerateArray().ToList() : [pre];
            foreach (var step in steps)
            {
                switch (step.GetProperty("type").GetString())
                {
                    case "ByteLevel":
                        byteLevel = true;

                        break;
                    case "Split" when step.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var regex):
                        split ??= new Regex(regex.GetString()!, RegexOptions.Compiled);
                        break;
                }
            }
        }

        // Without a Split step, ByteLevel (with or without use_regex) splits with GPT-2's pattern.
        return (byteLevel, split ?? TokenizerLoader.Gpt2Pattern());
    }

    /// <summary>The id a <c>TemplateProcessing</c> post-processor puts before every single sequence, if any.</summary>
    private static int? ReadLeadingSpecialToken(JsonElement root, Dictionary<string, int> added, Dictionary<string, int> vocab)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var processors = post.GetProperty("type").GetString() == "Sequence" && post.TryGetProperty("processors", out var list)
            ? list.EnumerateArray().ToList()
            : [post];
        foreach (var processor in processors)
        {
            if (processor.GetProperty("type").GetString() == "TemplateProcessing"
                && processor.TryGetProperty("single", out var single) && single.GetArrayLength() > 0
                && single[0].TryGetProperty("SpecialToken", out var special))
            {
                var name = special.GetProperty("id").GetString()!;
                return added.TryGetValue(name, out var id) ? id : vocab.TryGetValue(name, out id) ? id : null;
            }
        }

        return null;
    }
}
