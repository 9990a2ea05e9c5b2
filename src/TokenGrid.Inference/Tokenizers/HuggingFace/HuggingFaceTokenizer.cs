namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// The pipeline of a Hugging Face <c>tokenizer.json</c>, step by step as the Rust library's
/// <c>Tokenizer::encode(text, add_special_tokens)</c> and <c>decode(ids, skip_special_tokens)</c> run it:
/// added tokens that are not normalized are found first, the rest is normalized, normalized added tokens are
/// found in it, then pre-tokenization, the BPE model and the post-processor. Immutable, so thread-safe.
/// </summary>
internal sealed class HuggingFaceTokenizer(
    BpeModel model,
    AddedTokenMatcher rawTokens,
    AddedTokenMatcher normalizedTokens,
    Normalizer? normalizer,
    PreTokenizer? preTokenizer,
    PostProcessor postProcessor,
    Decoder? decoder,
    IReadOnlyDictionary<int, AddedToken> addedById,
    string[] vocabById) : ITextTokenizer
{
    public int[] Encode(string text, bool addSpecialTokens)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(postProcessor.Prefix);
        }

        var segments = new List<Segment>();
        rawTokens.Split(Utf16.ReplaceLoneSurrogates(text), 0, segments);
        var pieces = new List<Piece>();
        var normalized = new List<Segment>();
        foreach (var segment in segments)
        {
            if (segment.TokenId is { } id)
            {
                ids.Add(id);
                continue;
            }

            normalized.Clear();
            var content = normalizer?.Normalize(segment.Text) ?? segment.Text;
            normalizedTokens.Split(content, 0, normalized);
            foreach (var part in normalized)
            {
                if (part.TokenId is { } partId)
                {
                    ids.Add(partId);
                    continue;
                }

                if (part.Text.Length == 0)
                {
                    continue;
                }

                var piece = new Piece(part.Text, segment.Start == 0 && part.Start == 0);
                pieces.Clear();
                if (preTokenizer is null)
                {
                    pieces.Add(piece);
                }
                else
                {
                    preTokenizer.Split(piece, pieces);
                }

                foreach (var p in pieces)
                {
                    model.Tokenize(p.Text, ids);
                }
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(postProcessor.Suffix);
        }

        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (addedById.TryGetValue(id, out var added))
            {
                if (!skipSpecialTokens || !added.Special)
                {
                    tokens.Add(added.Content);
                }
            }
            else if ((uint)id < (uint)vocabById.Length && vocabById[id] is { } token)
            {
                tokens.Add(token);
            }
        }

        return decoder is null ? string.Join(' ', tokens) : string.Concat(decoder.DecodeChain(tokens));
    }

    public bool IsSpecial(int id) => addedById.TryGetValue(id, out var added) && added.Special;
}
