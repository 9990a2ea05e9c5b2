using System.Text;

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

    /// <summary>
    /// The bytes one token stands for, its text taken as the Rust library's <c>decode</c> takes it (an added token's
    /// content, else the vocabulary's string): with a ByteLevel decoder the byte-level alphabet mapped back to bytes; a
    /// <c>&lt;0xXX&gt;</c> token of a byte-fallback model its byte; otherwise the UTF-8 of the text after the decoder's
    /// per-token steps (Replace, Metaspace) as they treat a token that is not the first, so a word's leading space is kept.
    /// </summary>
    public byte[] TokenBytes(int id)
    {
        var token = addedById.TryGetValue(id, out var added) ? added.Content
            : (uint)id < (uint)vocabById.Length ? vocabById[id]
            : null;
        if (token is null)
        {
            return [];
        }

        var steps = decoder?.Steps.ToList() ?? [];
        if (steps.Any(step => step is ByteLevelDecoder))
        {
            var bytes = new List<byte>(token.Length);
            ByteLevelAlphabet.AppendBytes(token, bytes);
            return [.. bytes];
        }

        if ((model.ByteFallback || steps.Any(step => step is ByteFallbackDecoder)) && ByteFallbackDecoder.TryParseByte(token, out var single))
        {
            return [single];
        }

        var text = token;
        foreach (var step in steps.Where(step => step.IsPerToken))
        {
            // A first token of "" keeps this one from being treated as the start of the text.
            text = string.Concat(step.DecodeChain(["", text]));
        }

        return Encoding.UTF8.GetBytes(text);
    }
}
