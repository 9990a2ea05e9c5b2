namespace TokenGrid.Inference.Constraints;

/// <summary>
/// The tokens of a vocabulary read as the body of a JSON string from a given byte on (0: inside a string between two
/// characters; 1: tokens that open a string with their first byte, or that end an escape with it), sorted by what they do there, so a free string's
/// mask is mostly set from precomputed bit sets:
/// <list type="bullet">
/// <item>content that ends between characters (<see cref="Plain"/> without backslashes, <see cref="Inside"/> with
/// escapes), by the characters it begins;</item>
/// <item>content that ends inside a character or an escape (<see cref="Dangling"/>), by how many bytes it leaves owed;</item>
/// <item>tokens that close the string: their bytes after the closing quote in a trie (<see cref="Suffixes"/>), walked
/// from the string's container, with the characters each writes before the quote (<see cref="PrefixChars"/>).</item>
/// </list>
/// </summary>
internal sealed class StringBodies
{
    /// <summary>Most bytes a token can leave owed (a 4-byte character after its first byte).</summary>
    public const int MaxOwed = 3;

    /// <summary>
    /// Sorts the tokens of <paramref name="bytes"/> read from byte <paramref name="offset"/> (0 or 1); with 1, only those
    /// whose first byte is in <paramref name="leads"/> (default: the quote that opens a string).
    /// </summary>
    public StringBodies(byte[]?[] bytes, int offset, ByteSet? leads = null)
    {
        var first = leads ?? ByteSet.Of("\"");
        var size = bytes.Length;
        var kinds = new Body[size];
        var chars = new int[size];
        var owed = new int[size];
        var backslash = new bool[size];
        var suffixes = new byte[]?[size];
        var keySuffixes = new byte[]?[size];
        var keyQuoted = new List<int>();
        for (var id = 0; id < size; id++)
        {
            if (bytes[id] is not { } token || token.Length < offset || (offset == 1 && !first.Contains(token[0])))
            {
                continue;
            }

            (kinds[id], chars[id], owed[id], backslash[id], var quote) = Read(token, offset);
            if (kinds[id] == Body.Closes)
            {
                suffixes[id] = token[(quote + 1)..];
                if (!backslash[id])
                {
                    if (suffixes[id]!.AsSpan().Contains((byte)'"'))
                    {
                        keyQuoted.Add(id);
                    }
                    else
                    {
                        keySuffixes[id] = suffixes[id];
                    }
                }
            }
        }

        Plain = new LengthBuckets(size, id => kinds[id] == Body.Clean && !backslash[id] ? chars[id] : 0);
        Inside = new LengthBuckets(size, id => kinds[id] == Body.Clean ? chars[id] : 0);
        Dangling = new LengthBuckets[MaxOwed + 1, 2];
        for (var extra = 1; extra <= MaxOwed; extra++)
        {
            for (var escaped = 0; escaped < 2; escaped++)
            {
                var (e, b) = (extra, escaped == 1);
                Dangling[extra, escaped] = new LengthBuckets(size, id => kinds[id] == Body.Dangling && owed[id] == e && backslash[id] == b ? chars[id] : 0);
            }
        }

        Suffixes = new ByteTokenTrie(suffixes, _ => true);
        KeySuffixes = new ByteTokenTrie(keySuffixes, _ => true);
        KeyQuoted = [.. keyQuoted];
        Walked = new ByteTokenTrie(bytes, id => kinds[id] is Body.Closes or Body.Dangling);
        PrefixChars = chars;
        PrefixBackslash = backslash;
        CodePoints = new int[]?[size];
        for (var id = 0; id < size; id++)
        {
            if (kinds[id] == Body.Clean)
            {
                CodePoints[id] = Decode(bytes[id]!, offset);
            }
        }
    }

    /// <summary>For content that ends between characters: the code points it writes, escapes decoded; null for the others.</summary>
    public int[]?[] CodePoints { get; }

    private static int[] Decode(byte[] bytes, int offset)
    {
        var text = System.Text.Encoding.UTF8.GetString(bytes, offset, bytes.Length - offset);
        var points = new List<int>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
                points.Add(text[i] switch { 'b' => 8, 'f' => 12, 'n' => 10, 'r' => 13, 't' => 9, var c => c });
                continue;
            }

            points.Add(char.ConvertToUtf32(text, i));
            i += char.IsHighSurrogate(text[i]) ? 1 : 0;
        }

        return [.. points];
    }

    /// <summary>Content without backslashes that ends between characters, by characters.</summary>
    public LengthBuckets Plain { get; }

    /// <summary>Content that ends between characters, escapes included, by characters.</summary>
    public LengthBuckets Inside { get; }

    /// <summary>Content that ends inside a character or escape: by bytes owed (1..3) and whether it has a backslash.</summary>
    public LengthBuckets[,] Dangling { get; }

    /// <summary>The tokens that close the string or end inside a character or escape, whole (walked when the budget is tight).</summary>
    public ByteTokenTrie Walked { get; }

    /// <summary>What closing tokens write after the closing quote (the empty suffix at the root).</summary>
    public ByteTokenTrie Suffixes { get; }

    /// <summary>
    /// For a free object key (no backslash): what the closing tokens without a backslash before their quote write after
    /// it, when that holds no other quote (so it writes no other key).
    /// </summary>
    public ByteTokenTrie KeySuffixes { get; }

    /// <summary>The closing tokens without a backslash before their quote that have another quote after it.</summary>
    public int[] KeyQuoted { get; }

    /// <summary>Characters each token writes in the string (before its closing quote, for closers).</summary>
    public int[] PrefixChars { get; }

    /// <summary>Whether a token has a backslash in the string (before its closing quote).</summary>
    public bool[] PrefixBackslash { get; }

    /// <summary>
    /// Reads <paramref name="bytes"/> from <paramref name="offset"/> as a string's body: whether it ends between
    /// characters (clean), inside one (dangling, owing bytes) or closes the string (at <c>Quote</c>), the characters it
    /// writes before that and whether it has a backslash; <see cref="Body.Invalid"/> when no string can hold it.
    /// </summary>
    internal static (Body Kind, int Chars, int Owed, bool Backslash, int Quote) Read(byte[] bytes, int offset)
    {
        var (count, pending, escape, backslash) = (0, 0, false, false);
        var (low, high) = (0, 0);
        for (var i = offset; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (escape)
            {
                if (!Utf8Lead.IsEscape(b))
                {
                    return default;
                }

                escape = false;
                continue;
            }

            if (pending > 0)
            {
                if (b < low || b > high)
                {
                    return default;
                }

                (pending, low, high) = (pending - 1, 0x80, 0xBF);
                continue;
            }

            if (b == '"')
            {
                return (Body.Closes, count, 0, backslash, i);
            }

            (pending, var first, var last, _) = Utf8Lead.Of(b);
            (low, high) = (first, last);
            if (pending < 0)
            {
                return default;
            }

            escape = b == '\\';
            backslash |= escape;
            count++;
        }

        return count == 0 ? default
            : escape || pending > 0 ? (Body.Dangling, count, escape ? 1 : pending, backslash, -1)
            : (Body.Clean, count, 0, backslash, -1);
    }

    /// <summary>What a token's bytes are in a string.</summary>
    internal enum Body
    {
        Invalid,
        Clean,
        Dangling,
        Closes,
    }
}
