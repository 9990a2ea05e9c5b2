using System.Text;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: printable bytes stand for themselves and the other 68 map in order to
/// U+0100 onwards, so that every byte of UTF-8 is a visible character of the vocabulary.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly int[] s_charToByte = BuildCharToByte();

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each as its byte-level character.</summary>
    public static string Encode(string text)
    {
        var count = Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = count <= 1024 ? stackalloc byte[count] : new byte[count];
        Encoding.UTF8.GetBytes(text, bytes);
        return string.Create(count, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                chars[i] = s_byteToChar[source[i]];
            }
        });
    }

    /// <summary>Appends the bytes a token stands for: its byte-level characters, or its own UTF-8 when any character is not one.</summary>
    public static void AppendBytes(string token, List<byte> output)
    {
        foreach (var c in token)
        {
            if (c >= s_charToByte.Length || s_charToByte[c] < 0)
            {
                output.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        }

        foreach (var c in token)
        {
            output.Add((byte)s_charToByte[c]);
        }
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
            map[b] = printable ? (char)b : (char)(256 + next++);
        }

        return map;
    }

    private static int[] BuildCharToByte()
    {
        var map = new int[324];
        Array.Fill(map, -1);
        for (var b = 0; b < 256; b++)
        {
            map[s_byteToChar[b]] = b;
        }

        return map;
    }
}
