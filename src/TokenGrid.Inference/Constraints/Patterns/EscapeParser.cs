using System.Globalization;

namespace TokenGrid.Inference.Constraints;

/// <summary>An escape's meaning: a set, and the single code point when it names one (else -1).</summary>
internal readonly record struct Escape(CodePointSet Set, int CodePoint = -1)
{
    public static Escape Of(int codePoint) => new(CodePointSet.Single(codePoint), codePoint);
}

/// <summary>Parses what follows a backslash, in or out of a character class.</summary>
internal static class EscapeParser
{
    /// <summary>Reads the escape after a backslash the reader has just read.</summary>
    public static Escape Parse(PatternReader reader, bool inClass)
    {
        if (reader.AtEnd)
        {
            throw PatternReader.Unsupported("it ends with a backslash");
        }

        var c = reader.ReadChar();
        return c switch
        {
            'd' => new Escape(CodePointSet.Digit),
            'D' => new Escape(CodePointSet.Digit.Complement()),
            'w' => new Escape(CodePointSet.Word),
            'W' => new Escape(CodePointSet.Word.Complement()),
            's' => new Escape(CodePointSet.Space),
            'S' => new Escape(CodePointSet.Space.Complement()),
            'n' => Escape.Of('\n'),
            't' => Escape.Of('\t'),
            'r' => Escape.Of('\r'),
            'f' => Escape.Of('\f'),
            'v' => Escape.Of('\v'),
            'b' when inClass => Escape.Of('\b'),
            'b' or 'B' => throw PatternReader.Unsupported(@"word boundaries (\b, \B) are not supported"),
            '0' when !char.IsAsciiDigit(reader.Peek()) => Escape.Of(0),
            >= '0' and <= '9' => throw PatternReader.Unsupported("backreferences and octal escapes are not supported"),
            'k' => throw PatternReader.Unsupported("named backreferences are not supported"),
            'p' or 'P' => throw PatternReader.Unsupported(@"Unicode property escapes (\p, \P) are not supported"),
            'x' => Escape.Of(Hex(reader, 2)),
            'u' => Escape.Of(Unicode(reader)),
            'c' when char.IsAsciiLetter(reader.Peek()) => Escape.Of(reader.ReadChar() % 32),
            _ when char.IsAsciiLetter(c) => throw PatternReader.Unsupported($"the escape \\{c} is not supported"),
            _ => Escape.Of(IdentityEscape(reader)),
        };
    }

    // Any other escaped character stands for itself; re-read it as a code point in case it starts a surrogate pair.
    private static int IdentityEscape(PatternReader reader)
    {
        reader.Position--;
        return reader.ReadCodePoint();
    }

    private static int Unicode(PatternReader reader)
    {
        if (reader.Eat('{'))
        {
            var start = reader.Position;
            var end = reader.Text.IndexOf('}', start);
            if (end < 0 || end == start || end - start > 6
                || !int.TryParse(reader.Text.AsSpan(start, end - start), NumberStyles.AllowHexSpecifier, null, out var cp)
                || cp > CodePointSet.MaxCodePoint)
            {
                throw PatternReader.Unsupported(@"a \u{...} escape is malformed");
            }

            reader.Position = end + 1;
            return cp;
        }

        var unit = Hex(reader, 4);
        // \uD83D\uDE00: a surrogate pair written as two escapes is one code point.
        if (char.IsHighSurrogate((char)unit) && reader.Peek() == '\\' && reader.Peek(1) == 'u')
        {
            var save = reader.Position;
            reader.Position += 2;
            if (TryHex(reader, 4, out var low) && char.IsLowSurrogate((char)low))
            {
                return char.ConvertToUtf32((char)unit, (char)low);
            }

            reader.Position = save;
        }

        return unit;
    }

    private static int Hex(PatternReader reader, int digits) =>
        TryHex(reader, digits, out var value) ? value : throw PatternReader.Unsupported(@"a \x or \u escape is malformed");

    private static bool TryHex(PatternReader reader, int digits, out int value)
    {
        value = 0;
        if (reader.Position + digits > reader.Text.Length
            || !int.TryParse(reader.Text.AsSpan(reader.Position, digits), NumberStyles.AllowHexSpecifier, null, out value))
        {
            return false;
        }

        reader.Position += digits;
        return true;
    }
}
