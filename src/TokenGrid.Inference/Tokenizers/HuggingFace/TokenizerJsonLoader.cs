using System.Text.Json;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> into a <see cref="HuggingFaceTokenizer"/>. Microsoft.ML.Tokenizers
/// has no loader for it (2.0.1 none; 3.0.0 only for Unigram models), and its BpeTokenizer lacks byte fallback
/// and ignore_merges, so the pipeline is our own; docs/tokenizers.md has the decision and its figures. Whatever
/// the file asks for that is not implemented is refused with an <see cref="Models.InvalidModelException"/> that
/// names the field, never tokenized differently.
/// </summary>
internal static class TokenizerJsonLoader
{
    public static ModelTokenizer Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var json = JsonDocument.Parse(stream);
        var root = new JsonConfig(TokenizerLoader.TokenizerJsonFile, "", json.RootElement);
        if (json.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw root.Invalid("must be a JSON object");
        }

        foreach (var field in new[] { "truncation", "padding" })
        {
            if (!root.Child(field).IsNull)
            {
                throw root.Child(field).Unsupported("(set)");
            }
        }

        var modelConfig = root.Child("model");
        var (vocab, merges) = ReadVocabAndMerges(modelConfig);
        var normalizer = Normalizer.Read(root.Child("normalizer"));

        // A normalized added token is matched, and decodes, in its normalized form (measured: with a Lowercase
        // normalizer, "<Extra>" decodes as "<extra>").
        var added = AssignIds(root.Items("added_tokens").Select(AddedToken.Read), vocab)
            .Select(t => t.Normalized && normalizer is not null ? t with { Content = normalizer.Normalize(t.Content) } : t)
            .ToList();

        // skip_special_tokens looks the decoded content up among the special tokens' original contents, so a
        // special token whose normalized form differs is not skipped (measured).
        var specialContents = root.Items("added_tokens").Select(AddedToken.Read).Where(t => t.Special).Select(t => t.Content).ToHashSet(StringComparer.Ordinal);
        added = [.. added.Select(t => t with { Special = specialContents.Contains(t.Content) })];
        var model = new BpeModel(
            vocab,
            merges,
            modelConfig.OptionalString("unk_token") is { } unk ? vocab.TryGetValue(unk, out var unkId) ? unkId : throw modelConfig.Child("unk_token").Invalid($"'{unk}' is not in the vocabulary") : null,
            modelConfig.Bool("fuse_unk", false),
            modelConfig.Bool("byte_fallback", false),
            modelConfig.Bool("ignore_merges", false));

        var addedById = new Dictionary<int, AddedToken>();
        foreach (var token in added)
        {
            addedById[token.Id] = token;
        }

        var vocabById = new string[Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, 0)];
        foreach (var (token, id) in vocab)
        {
            vocabById[id] = token;
        }

        var tokenizer = new HuggingFaceTokenizer(
            model,
            new AddedTokenMatcher(added.Where(t => !t.Normalized).Select(t => (t.Content, t))),
            new AddedTokenMatcher(added.Where(t => t.Normalized).Select(t => (t.Content, t))),
            normalizer,
            PreTokenizer.Read(root.Child("pre_tokenizer")),
            PostProcessor.Read(root.Child("post_processor")),
            Decoder.Read(root.Child("decoder")),
            addedById,
            vocabById);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in added.Where(t => t.Special))
        {
            special[token.Content] = token.Id;
        }

        return new ModelTokenizer(tokenizer, TokenizerKind.HuggingFaceBpe, Describe(json.RootElement, model), special);
    }

    /// <summary>
    /// The ids Hugging Face gives added tokens, whatever the file says: a token in the vocabulary keeps its id, any
    /// other takes the next id after the vocabulary and the added tokens before it (<c>AddedVocabulary::add_tokens</c>;
    /// the Rust library only warns when the file's id differs). A content seen before is not added again.
    /// </summary>
    private static List<AddedToken> AssignIds(IEnumerable<AddedToken> tokens, Dictionary<string, int> vocab)
    {
        var assigned = new List<AddedToken>();
        var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
        var max = -1;
        foreach (var token in tokens)
        {
            if (byContent.ContainsKey(token.Content))
            {
                continue;
            }

            int id;
            if (vocab.TryGetValue(token.Content, out var inVocab))
            {
                id = inVocab;
            }
            else
            {
                id = max >= vocab.Count ? max + 1 : vocab.Count;
            }

            max = Math.Max(max, id);
            byContent[token.Content] = id;
            assigned.Add(token with { Id = id });
        }

        return assigned;
    }

    private static (Dictionary<string, int> Vocab, List<(int, int, int)> Merges) ReadVocabAndMerges(JsonConfig model)
    {
        if (model.IsNull)
        {
            throw model.Invalid("is required");
        }

        var type = model.OptionalString("type") ?? "BPE";
        if (type != "BPE")
        {
            // WordPiece (BERT encoders), WordLevel and Unigram (T5, some SentencePiece exports): no decoder we serve uses them.
            throw model.Child("type").Unsupported($"'{type}' (only BPE is)");
        }

        if (model.Child("dropout").Element.ValueKind == JsonValueKind.Number && model.Child("dropout").Element.GetDouble() > 0)
        {
            throw model.Child("dropout").Unsupported("(random merges at encode time)");
        }

        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.OptionalString(affix) is { Length: > 0 } value)
            {
                throw model.Child(affix).Unsupported($"'{value}'");
            }
        }

        var vocabConfig = model.Child("vocab");
        if (vocabConfig.Element.ValueKind != JsonValueKind.Object)
        {
            throw vocabConfig.Invalid("must be an object of token: id");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabConfig.Element.EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.TryGetInt32(out var id) && id >= 0 ? id : throw vocabConfig.Child(entry.Name).Invalid("must be a non-negative integer id");
        }

        var merges = new List<(int, int, int)>();
        foreach (var merge in model.Items("merges"))
        {
            var (left, right) = merge.Element.ValueKind switch
            {
                JsonValueKind.Array when merge.Element.GetArrayLength() == 2 => (merge.Element[0].GetString()!, merge.Element[1].GetString()!),
                JsonValueKind.String when merge.Element.GetString()!.Split(' ', 2) is [var l, var r] => (l, r),
                _ => throw merge.Invalid("must be \"a b\" or [\"a\", \"b\"]"),
            };
            merges.Add((Id(vocab, left, merge), Id(vocab, right, merge), Id(vocab, left + right, merge)));
        }

        return (vocab, merges);
    }

    private static int Id(Dictionary<string, int> vocab, string token, JsonConfig merge) =>
        vocab.TryGetValue(token, out var id) ? id : throw merge.Invalid($"names '{token}', which is not in the vocabulary");

    /// <summary>For <c>models check</c>: <c>tokenizer.json BPE (byte-level)</c>, <c>tokenizer.json BPE (Metaspace, byte fallback)</c>, …</summary>
    private static string Describe(JsonElement root, BpeModel model)
    {
        string Section(string name) => root.TryGetProperty(name, out var value) ? value.GetRawText() : "";
        var pipeline = Section("normalizer") + Section("pre_tokenizer") + Section("decoder");
        var traits = new List<string>();
        if (pipeline.Contains("\"ByteLevel\"", StringComparison.Ordinal))
        {
            traits.Add("byte-level");
        }
        else if (pipeline.Contains("\"Metaspace\"", StringComparison.Ordinal) || pipeline.Contains('▁') || pipeline.Contains("\\u2581", StringComparison.Ordinal))
        {
            traits.Add("Metaspace");
        }

        if (model.ByteFallback)
        {
            traits.Add("byte fallback");
        }

        return traits.Count == 0 ? "tokenizer.json BPE" : $"tokenizer.json BPE ({string.Join(", ", traits)})";
    }
}
