namespace TokenGrid.Inference.Constraints;

/// <summary>Parses a character class <c>[...]</c> of ECMA-262 (without the <c>v</c> flag's set operations).</summary>
internal static class CharacterClassParser
{
    /// <summary>Parses a class whose '[' the parser has just read, through its ']'.</summary>
    public static CodePointSet Parse(RegexParser parser)
    {
        var negate = parser.Consume('^');
        var set = CodePointSet.Empty;
        while (!parser.Consume(']'))
        {
            if (IsEnd(parser))
            {
                throw RegexParser.Unsupported("a character class is not closed");
            }

            var from = ReadAtom(parser);
            if (parser.Current == '-' && parser.Next != ']' && !IsEndAfterDash(parser))
            {
                parser.Consume('-');
                var to = ReadAtom(parser);
                if (from.CodePoint >= 0 && to.CodePoint >= 0)
                {
                    if (from.CodePoint > to.CodePoint)
                    {
                        throw RegexParser.Unsupported("a character class range is out of order");
                    }

                    set = set.Union(CodePointSet.Range(from.CodePoint, to.CodePoint));
                }
                else
                {
                    // Annex B: a range with a class escape at one end (e.g. [\w-.]) is both ends and '-'.
                    set = set.Union(from.Set).Union(to.Set).Union(CodePointSet.Single('-'));
                }
            }
            else
            {
                set = set.Union(from.Set);
            }
        }

        return negate ? set.Complement() : set;
    }

    private static RegexParser.Escape ReadAtom(RegexParser parser)
    {
        if (IsEnd(parser))
        {
            throw RegexParser.Unsupported("a character class is not closed");
        }

        return parser.Consume('\\')
            ? parser.ParseEscape(inClass: true)
            : RegexParser.Escape.Of(parser.ReadCodePoint());
    }

    private static bool IsEnd(RegexParser parser) => parser.Position >= parser.Length;

    private static bool IsEndAfterDash(RegexParser parser) => parser.Position + 1 >= parser.Length;
}
