namespace TokenGrid.Inference.Tokenizers;

/// <summary>
/// Turns a stream of token ids into a stream of text pieces whose concatenation equals decoding all the ids
/// at once. A character split across tokens (multi-byte UTF-8) is held back until it is complete, and
/// tokenizers whose tokens decode differently in context (SentencePiece's leading space) are decoded over a
/// short window of the previous tokens, so no piece is ever taken back. With <paramref name="skipSpecialTokens"/>,
/// decoding skips special tokens as Hugging Face's <c>decode(ids, skip_special_tokens=True)</c> does. Not thread-safe:
/// one per sequence.
/// </summary>
public sealed class StreamingDetokenizer(ModelTokenizer tokenizer, bool skipSpecialTokens = false)
{
    private const char Replacement = '\uFFFD';

    // A window that has not emitted for this many tokens is not waiting for the rest of a character.
    private const int MaxPendingTokens = 8;

    private readonly List<int> _ids = [];
    private int _prefixStart;
    private int _readStart;

    /// <summary>Adds one token; returns the text it completes (often empty while a character is incomplete).</summary>
    public string Append(int token)
    {
        _ids.Add(token);
        var prefix = Decode(_prefixStart, _readStart);
        var text = Decode(_prefixStart, _ids.Count);
        var complete = text.Length > prefix.Length && text[^1] != Replacement;
        if (!complete && _ids.Count - _readStart < MaxPendingTokens)
        {
            return "";
        }

        _prefixStart = _readStart;
        _readStart = _ids.Count;
        return text.Length > prefix.Length ? text[prefix.Length..] : "";
    }

    /// <summary>Returns whatever is still held back (an incomplete character decodes as U+FFFD).</summary>
    public string Flush()
    {
        if (_readStart == _ids.Count)
        {
            return "";
        }

        var prefix = Decode(_prefixStart, _readStart);
        var text = Decode(_prefixStart, _ids.Count);
        _prefixStart = _readStart = _ids.Count;
        return text.Length > prefix.Length ? text[prefix.Length..] : "";
    }

    private string Decode(int start, int end) =>
        start == end ? "" : tokenizer.Decode(_ids.GetRange(start, end - start), skipSpecialTokens);
}
