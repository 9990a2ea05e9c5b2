using System.Text.Encodings.Web;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Escapes what JSON itself requires in a string and nothing more: the quotation mark, the reverse solidus and control
/// characters. Every other character is written as itself, those beyond the Basic Multilingual Plane (emoji, many CJK
/// ideographs) included; System.Text.Json's own encoders, even the relaxed one, always write those as <c>\uD83D\uDE00</c>
/// pairs. A <c>const</c> or <c>enum</c> literal is generated as this writes it, so the model writes characters, as in
/// every other string it generates, and not escape sequences (a library has no encoder that does this; the rule is small).
/// </summary>
internal sealed class JsonOwnEscaping : JavaScriptEncoder
{
    public static readonly JsonOwnEscaping Instance = new();

    private JsonOwnEscaping()
    {
    }

    /// <inheritdoc/>
    public override int MaxOutputCharactersPerInputCharacter => 6;

    /// <inheritdoc/>
    public override bool WillEncode(int unicodeScalar) => unicodeScalar is < 0x20 or '"' or '\\';

    /// <inheritdoc/>
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (var i = 0; i < textLength; i++)
        {
            if (WillEncode(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var escaped = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\b' => "\\b",
            '\f' => "\\f",
            < 0x20 => $"\\u{unicodeScalar:x4}",
            _ => char.ConvertFromUtf32(unicodeScalar),
        };
        if (escaped.Length > bufferLength)
        {
            numberOfCharactersWritten = 0;
            return false;
        }

        escaped.AsSpan().CopyTo(new Span<char>(buffer, bufferLength));
        numberOfCharactersWritten = escaped.Length;
        return true;
    }
}
