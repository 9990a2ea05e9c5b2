namespace TokenGrid.Inference.Constraints;

/// <summary>What a byte that starts a character inside a JSON string means in UTF-8 (RFC 3629: no overlong forms, no surrogates).</summary>
internal static class Utf8Lead
{
    /// <summary>
    /// For a byte at the start of a character: the continuation bytes still due (-1 when the byte cannot start a character
    /// in a string: a control character, a continuation byte, an invalid lead), the range the next one must lie in, and
    /// the code point's bits the byte carries.
    /// </summary>
    public static (int Pending, byte Low, byte High, int Bits) Of(byte b) => b switch
    {
        >= 0x20 and < 0x80 => (0, 0, 0, b),
        >= 0xC2 and <= 0xDF => (1, 0x80, 0xBF, b & 0x1F),
        0xE0 => (2, 0xA0, 0xBF, b & 0x0F),
        0xED => (2, 0x80, 0x9F, b & 0x0F),
        >= 0xE1 and <= 0xEF => (2, 0x80, 0xBF, b & 0x0F),
        0xF0 => (3, 0x90, 0xBF, b & 0x07),
        >= 0xF1 and <= 0xF3 => (3, 0x80, 0xBF, b & 0x07),
        0xF4 => (3, 0x80, 0x8F, b & 0x07),
        _ => (-1, 0, 0, 0),
    };

    /// <summary>Whether <paramref name="b"/> may follow a backslash in a JSON string (<c>\u</c> is not generated).</summary>
    public static bool IsEscape(byte b) =>
        b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t';
}
