using System.Text;
using System.Text.Unicode;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// Shows the engine's per-token log probabilities in OpenAI's two shapes: chat's <c>logprobs.content</c> and legacy
/// completions' <c>logprobs</c> lists. A token's text is its bytes as UTF-8, or OpenAI's <c>bytes:\xNN</c> form when
/// the token is only part of a character; a log probability the engine did not report (NaN) is null, and minus infinity
/// is −9999 as vLLM shows it (JSON has no infinity). A token whose text is not in the choice's text moves no
/// <c>text_offset</c>: an end-of-sequence token (never shown, also under <c>ignore_eos</c>), and with
/// <paramref name="skipSpecialTokens"/> (the request's <c>skip_special_tokens</c>) any special token.
/// </summary>
internal sealed class LogprobFormat(CatalogModel model, bool skipSpecialTokens = false)
{
    /// <summary>Chat's <c>logprobs</c> for <paramref name="tokens"/>.</summary>
    public ChatLogprobs Chat(IEnumerable<TokenLogprob> tokens) => new([.. tokens.Select(token =>
    {
        var bytes = model.TokenBytes(token.TokenId);
        return new ChatTokenLogprob(Text(bytes), Value(token.Logprob), [.. bytes],
            [.. token.Top.Select(top =>
            {
                var topBytes = model.TokenBytes(top.TokenId);
                return new ChatTopLogprob(Text(topBytes), Value(top.Logprob), [.. topBytes]);
            })]);
    })]);

    /// <summary>
    /// Legacy <c>logprobs</c> for <paramref name="tokens"/>, whose text continues the choice's text where
    /// <paramref name="offsets"/> stands; advances it past them. Each token's <c>top_logprobs</c> holds its likeliest
    /// alternatives and the token itself, as OpenAI promises ("up to logprobs + 1 elements").
    /// </summary>
    public CompletionLogprobs Legacy(IEnumerable<TokenLogprob> tokens, TextOffsets offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        var texts = new List<string>();
        var values = new List<float?>();
        var tops = new List<IReadOnlyDictionary<string, float?>>();
        var starts = new List<int>();
        foreach (var token in tokens)
        {
            var bytes = model.TokenBytes(token.TokenId);
            var text = Text(bytes);
            texts.Add(text);
            values.Add(Value(token.Logprob));
            var top = new Dictionary<string, float?>(StringComparer.Ordinal);
            foreach (var alternative in token.Top)
            {
                // Two ids may show the same text; the likelier (listed first) keeps it, as OpenAI's map does.
                top.TryAdd(Text(model.TokenBytes(alternative.TokenId)), Value(alternative.Logprob));
            }

            top.TryAdd(text, Value(token.Logprob));
            tops.Add(top);
            starts.Add(offsets.Advance(Shown(token.TokenId) ? bytes : []));
        }

        return new CompletionLogprobs(texts, values, tops, starts);
    }

    /// <summary>Whether a generated token's text is in the choice's text (as the engine's detokenizer shows it).</summary>
    private bool Shown(int id) => !model.IsEndOfSequence(id) && !(skipSpecialTokens && model.IsSpecial(id));

    /// <summary>The token's text: its bytes as UTF-8, or <c>bytes:\xNN…</c> when they are not whole characters.</summary>
    public static string Text(byte[] bytes) =>
        // Checked first, not caught: a token that is part of a character is common in text that is not English, and an
        // exception per such token (each alternative of each streamed token) would cost more than the rest of its chunk.
        Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : "bytes:" + string.Concat(bytes.Select(b => $"\\x{b:x2}"));

    private static float? Value(float logprob) =>
        float.IsNaN(logprob) ? null : float.IsNegativeInfinity(logprob) ? -9999f : logprob;
}

/// <summary>
/// Where each token of a choice starts in the choice's text, for legacy <c>text_offset</c>: in Unicode code points, as
/// OpenAI and vLLM count them (Python's string indexes), over the tokens' bytes decoded as the text is. A token that
/// ends inside a character adds nothing until the token that completes it, which starts where that character does; bytes
/// that never form a character count one U+FFFD each, as they show in the text, before the next token. One per choice,
/// carried from chunk to chunk of a stream.
/// </summary>
internal sealed class TextOffsets
{
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];
    private int _offset;

    /// <summary>Returns where a token of <paramref name="bytes"/> starts and moves past its text.</summary>
    public int Advance(byte[] bytes)
    {
        // Bytes an earlier token left pending that this token does not continue show as U+FFFD before its own text.
        var start = _offset;
        if (bytes.Length > 0 && (bytes[0] & 0xC0) != 0x80)
        {
            start += _decoder.GetCharCount([], flush: true);
        }

        var needed = _decoder.GetCharCount(bytes, flush: false);
        if (needed > _chars.Length)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        var written = _decoder.GetChars(bytes, _chars, flush: false);
        // Code points, not UTF-16 units: a surrogate pair is one character of the text.
        _offset += written;
        foreach (var c in _chars.AsSpan(0, written))
        {
            _offset -= char.IsLowSurrogate(c) ? 1 : 0;
        }

        return start;
    }
}
