using Microsoft.ML.Tokenizers;

namespace TokenGrid.Inference.Tokenizers;

/// <summary>
/// A Microsoft.ML.Tokenizers tokenizer (SentencePiece, tiktoken, vocab.json + merges.txt) behind
/// <see cref="ITextTokenizer"/>. Special tokens are added only by SentencePiece (its beginning-of-sequence
/// token); skipping special tokens on decode drops the ids of <paramref name="specialTokens"/>.
/// </summary>
internal sealed class MlTextTokenizer(Tokenizer inner, IReadOnlyDictionary<string, int> specialTokens) : ITextTokenizer
{
    private readonly HashSet<int> _specialIds = [.. specialTokens.Values];

    public int[] Encode(string text, bool addSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = inner is SentencePieceTokenizer sentencePiece && !addSpecialTokens
            ? sentencePiece.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false)
            : inner.EncodeToIds(text);
        return [.. ids];
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) =>
        inner.Decode(skipSpecialTokens ? ids.Where(id => !_specialIds.Contains(id)) : ids);
}
