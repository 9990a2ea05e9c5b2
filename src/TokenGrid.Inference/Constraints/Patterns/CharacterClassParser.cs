namespace TokenGrid.Inference.Constraints;

/// <summary>Parses a character class <c>[...]</c> of ECMA-262 (without the <c>v</c> flag's set operations).</summary>
internal static class CharacterClassParser
{
    /// <summary>Parses a class whose '[' the reader has just read, through its ']'.</summary>
    public static CodePointSet Parse(PatternReader reader)
    {
        var negate = reader.Eat('^');
        var ranges = new List<(int First, int Last)>();
        while (!reader.Eat(']'))
        {
            var from = ReadAtom(reader);
            if (reader.Peek() == '-' && reader.Peek(1) != ']' && reader.Position + 1 < reader.Text.Length)
            {
                reader.Eat('-');
                var to = ReadAtom(reader);
                if (from.CodePoint >= 0 && to.CodePoint >= 0)
                {
                    if (from.CodePoint > to.CodePoint)
                    {
                        throw PatternReader.Unsupported("a character class range is out of order");
                    }

                    ranges.Add((from.CodePoint, to.CodePoint));
                }
                else
                {
                    // Annex B: a range with a class escape at one end (e.g. [\w-.]) is both ends and '-'.
                    Add(ranges, from.Set);
                    Add(ranges, to.Set);
                    ranges.Add(('-', '-'));
                }
            }
            else
            {
                Add(ranges, from.Set);
            }
        }

        // ECMA-262: [] matches nothing and [^] any code point.
        var set = CodePointSet.FromRanges(ranges);
        return negate ? set.Complement() : set;
    }

    private static void Add(List<(int First, int Last)> ranges, CodePointSet set)
    {
        for (var r = 0; r < set.RangeCount; r++)
        {
            ranges.Add((set.First(r), set.Last(r)));
        }
    }

    private static Escape ReadAtom(PatternReader reader)
    {
        if (reader.AtEnd)
        {
            throw PatternReader.Unsupported("a character class is not closed");
        }

        return reader.Eat('\\') ? EscapeParser.Parse(reader, inClass: true) : Escape.Of(reader.ReadCodePoint());
    }
}
