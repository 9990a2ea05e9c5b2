namespace TokenGrid.Inference.Tokenizers;

/// <summary>UTF-16 helpers for text that may hold lone surrogates.</summary>
internal static class Utf16
{
    /// <summary>
    /// Replaces each lone surrogate by U+FFFD, as the conversion to UTF-8 in front of Hugging Face's Rust
    /// library does (measured with the Node binding: <c>"a\uDC00b"</c> encodes like <c>"a\uFFFDb"</c>).
    /// </summary>
    public static string ReplaceLoneSurrogates(string text)
    {
        var index = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (index < 0)
        {
            return text;
        }

        var chars = text.ToCharArray();
        for (var i = index; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
