using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// Shows the engine's per-token log probabilities in OpenAI's two shapes: chat's <c>logprobs.content</c> and legacy
/// completions' <c>logprobs</c> lists. A token's text is its bytes as UTF-8, or OpenAI's <c>bytes:\xNN</c> form when
/// the token is only part of a character; a log probability the engine did not report (NaN) is null, and minus infinity
/// is −9999 as vLLM shows it (JSON has no infinity).
/// </summary>
internal sealed class LogprobFormat(CatalogModel model)
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

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
    /// Legacy <c>logprobs</c> for <paramref name="tokens"/>, whose text starts at <paramref name="offset"/> characters of
    /// the choice's text; advances it past them.
    /// </summary>
    public CompletionLogprobs Legacy(IEnumerable<TokenLogprob> tokens, ref int offset)
    {
        var texts = new List<string>();
        var values = new List<float?>();
        var tops = new List<IReadOnlyDictionary<string, float?>>();
        var offsets = new List<int>();
        foreach (var token in tokens)
        {
            var text = Text(model.TokenBytes(token.TokenId));
            texts.Add(text);
            values.Add(Value(token.Logprob));
            var top = new Dictionary<string, float?>(StringComparer.Ordinal);
            foreach (var alternative in token.Top)
            {
                // Two ids may show the same text; the likelier (listed first) keeps it, as OpenAI's map does.
                top.TryAdd(Text(model.TokenBytes(alternative.TokenId)), Value(alternative.Logprob));
            }

            tops.Add(top);
            offsets.Add(offset);
            offset += text.Length;
        }

        return new CompletionLogprobs(texts, values, tops, offsets);
    }

    /// <summary>The token's text: its bytes as UTF-8, or <c>bytes:\xNN…</c> when they are not whole characters.</summary>
    public static string Text(byte[] bytes)
    {
        try
        {
            return s_strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return "bytes:" + string.Concat(bytes.Select(b => $"\\x{b:x2}"));
        }
    }

    private static float? Value(float logprob) =>
        float.IsNaN(logprob) ? null : float.IsNegativeInfinity(logprob) ? -9999f : logprob;
}
