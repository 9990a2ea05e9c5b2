using System.Globalization;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Parses the documented regex subset of ECMA-262 (see <see cref="PatternAutomaton"/>) into a <see cref="RegexNode"/>
/// whose language is the set of whole strings the pattern matches somewhere: an alternative that does not start
/// with <c>^</c> may be preceded by anything, one that does not end with <c>$</c> may be followed by anything.
/// </summary>
internal sealed class RegexParser
{
    /// <summary>The largest count a quantifier may give.</summary>
    public const int MaxRepeat = 10_000;

    private static readonly RegexNode AnyString = new RepeatNode(new SetNode(CodePointSet.All), 0, -1);

    private readonly string _pattern;
    private int _pos;

    private RegexParser(string pattern) => _pattern = pattern;

    /// <summary>Parses <paramref name="pattern"/>; throws <see cref="ConstraintException"/> for what is unsupported.</summary>
    public static RegexNode Parse(string pattern)
    {
        var parser = new RegexParser(pattern);
        var choices = new List<RegexNode>();
        do
        {
            var anchoredStart = parser.Eat('^');
            var parts = parser.ParseSequence(topLevel: true, out var anchoredEnd);
            if (!anchoredStart)
            {
                parts.Insert(0, AnyString);
            }

            if (!anchoredEnd)
            {
                parts.Add(AnyString);
            }

            choices.Add(new SequenceNode(parts));
        }
        while (parser.Eat('|'));

        if (!parser.AtEnd)
        {
            throw Unsupported("it has an unmatched ')'");
        }

        return choices.Count == 1 ? choices[0] : new AlternationNode(choices);
    }

    private bool AtEnd => _pos >= _pattern.Length;

    private char Peek(int ahead = 0) => _pos + ahead < _pattern.Length ? _pattern[_pos + ahead] : '\0';

    private bool Eat(char c)
    {
        if (AtEnd || _pattern[_pos] != c)
        {
            return false;
        }

        _pos++;
        return true;
    }

    private int NextCodePoint()
    {
        if (AtEnd)
        {
            throw Unsupported("it ends too early");
        }

        if (char.IsHighSurrogate(_pattern[_pos]) && _pos + 1 < _pattern.Length && char.IsLowSurrogate(_pattern[_pos + 1]))
        {
            _pos += 2;
            return char.ConvertToUtf32(_pattern[_pos - 2], _pattern[_pos - 1]);
        }

        return _pattern[_pos++];
    }

    private RegexNode ParseDisjunction()
    {
        var choices = new List<RegexNode>();
        do
        {
            choices.Add(new SequenceNode(ParseSequence(topLevel: false, out _)));
        }
        while (Eat('|'));

        return choices.Count == 1 ? choices[0] : new AlternationNode(choices);
    }

    private List<RegexNode> ParseSequence(bool topLevel, out bool anchoredEnd)
    {
        var parts = new List<RegexNode>();
        anchoredEnd = false;
        while (!AtEnd && Peek() != '|' && Peek() != ')')
        {
            if (Peek() == '$')
            {
                if (topLevel && (_pos + 1 == _pattern.Length || Peek(1) == '|'))
                {
                    _pos++;
                    anchoredEnd = true;
                    break;
                }

                throw Unsupported("'$' is only supported at the end of the pattern or of a top-level alternative");
            }

            if (Peek() == '^')
            {
                throw Unsupported("'^' is only supported at the start of the pattern or of a top-level alternative");
            }

            var atom = ParseAtom();
            parts.Add(ParseQuantifier(atom));
        }

        return parts;
    }

    private RegexNode ParseQuantifier(RegexNode atom)
    {
        int min, max;
        if (Eat('*'))
        {
            (min, max) = (0, -1);
        }
        else if (Eat('+'))
        {
            (min, max) = (1, -1);
        }
        else if (Eat('?'))
        {
            (min, max) = (0, 1);
        }
        else if (!TryBraces(out min, out max))
        {
            return atom;
        }

        Eat('?'); // a lazy quantifier matches the same strings
        return new RepeatNode(atom, min, max);
    }

    // {n}, {n,} or {n,m}; anything else leaves '{' to be read as a literal (ECMA-262 Annex B).
    private bool TryBraces(out int min, out int max)
    {
        min = max = 0;
        var start = _pos;
        if (!Eat('{') || !TryNumber(out min))
        {
            _pos = start;
            return false;
        }

        max = min;
        if (Eat(','))
        {
            max = TryNumber(out var m) ? m : -1;
        }

        if (!Eat('}'))
        {
            _pos = start;
            return false;
        }

        if (max != -1 && max < min)
        {
            throw Unsupported("a quantifier {n,m} has m < n");
        }

        return true;
    }

    private bool TryNumber(out int value)
    {
        value = 0;
        var start = _pos;
        while (!AtEnd && char.IsAsciiDigit(Peek()))
        {
            value = (int)Math.Min((value * 10L) + (Peek() - '0'), int.MaxValue);
            _pos++;
        }

        if (value > MaxRepeat)
        {
            throw new ConstraintException("pattern", $"The pattern is too complex: a quantifier exceeds {MaxRepeat}.");
        }

        return _pos > start;
    }

    private RegexNode ParseAtom()
    {
        var c = Peek();
        switch (c)
        {
            case '(':
                _pos++;
                ParseGroupPrefix();
                var inner = ParseDisjunction();
                if (!Eat(')'))
                {
                    throw Unsupported("a group is not closed");
                }

                return inner;
            case '.':
                _pos++;
                return new SetNode(CodePointSet.Dot);
            case '[':
                _pos++;
                return new SetNode(CharacterClassParser.Parse(this));
            case '\\':
                _pos++;
                return new SetNode(ParseEscape(inClass: false).Set);
            case '*' or '+' or '?':
                throw Unsupported($"'{c}' has nothing to repeat");
            case '{' when TryBraces(out _, out _):
                throw Unsupported("'{' has nothing to repeat");
            default:
                return new SetNode(CodePointSet.Single(NextCodePoint()));
        }
    }

    private void ParseGroupPrefix()
    {
        if (!Eat('?'))
        {
            return;
        }

        if (Eat(':'))
        {
            return;
        }

        if (Peek() is '=' or '!' || (Peek() == '<' && Peek(1) is '=' or '!'))
        {
            throw Unsupported("lookahead and lookbehind are not supported");
        }

        if (Eat('<'))
        {
            while (!AtEnd && (char.IsAsciiLetterOrDigit(Peek()) || Peek() is '_' or '$'))
            {
                _pos++;
            }

            if (Eat('>'))
            {
                return;
            }
        }

        throw Unsupported("inline flags and modifiers are not supported");
    }

    /// <summary>Reads the escape after a backslash: a set, or one code point (<see cref="Escape.CodePoint"/> not -1).</summary>
    internal Escape ParseEscape(bool inClass)
    {
        if (AtEnd)
        {
            throw Unsupported("it ends with a backslash");
        }

        var c = _pattern[_pos++];
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
            'b' or 'B' => throw Unsupported("word boundaries (\\b, \\B) are not supported"),
            '0' when !char.IsAsciiDigit(Peek()) => Escape.Of(0),
            >= '0' and <= '9' => throw Unsupported("backreferences and octal escapes are not supported"),
            'k' => throw Unsupported("named backreferences are not supported"),
            'p' or 'P' => throw Unsupported("Unicode property escapes (\\p, \\P) are not supported"),
            'x' => Escape.Of(Hex(2)),
            'u' => Escape.Of(UnicodeEscape()),
            'c' when char.IsAsciiLetter(Peek()) => Escape.Of(_pattern[_pos++] % 32),
            _ when char.IsAsciiLetter(c) => throw Unsupported($"the escape \\{c} is not supported"),
            _ => Escape.Of(ReadBack()),
        };
    }

    // An identity escape of a character that may be the first half of a surrogate pair.
    private int ReadBack()
    {
        _pos--;
        return NextCodePoint();
    }

    private int UnicodeEscape()
    {
        if (Eat('{'))
        {
            var end = _pattern.IndexOf('}', _pos);
            if (end < 0 || end == _pos || end - _pos > 6
                || !int.TryParse(_pattern.AsSpan(_pos, end - _pos), NumberStyles.AllowHexSpecifier, null, out var cp)
                || cp > CodePointSet.MaxCodePoint)
            {
                throw Unsupported("a \\u{...} escape is malformed");
            }

            _pos = end + 1;
            return cp;
        }

        var unit = Hex(4);
        // \uD83D\uDE00: a surrogate pair written as two escapes is one code point.
        if (char.IsHighSurrogate((char)unit) && Peek() == '\\' && Peek(1) == 'u')
        {
            var save = _pos;
            _pos += 2;
            if (TryHex(4, out var low) && char.IsLowSurrogate((char)low))
            {
                return char.ConvertToUtf32((char)unit, (char)low);
            }

            _pos = save;
        }

        return unit;
    }

    private int Hex(int digits) =>
        TryHex(digits, out var value) ? value : throw Unsupported("a \\x or \\u escape is malformed");

    private bool TryHex(int digits, out int value)
    {
        value = 0;
        if (_pos + digits > _pattern.Length
            || !int.TryParse(_pattern.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, null, out value))
        {
            return false;
        }

        _pos += digits;
        return true;
    }

    internal int Position => _pos;

    internal int Length => _pattern.Length;

    internal char Current => Peek();

    internal char Next => Peek(1);

    internal bool Consume(char c) => Eat(c);

    internal int ReadCodePoint() => NextCodePoint();

    internal static ConstraintException Unsupported(string reason) =>
        new("pattern", $"The pattern uses unsupported syntax: {reason}.");

    /// <summary>An escape's meaning: a set, and the single code point when it names one (else -1).</summary>
    internal readonly record struct Escape(CodePointSet Set, int CodePoint = -1)
    {
        public static Escape Of(int codePoint) => new(CodePointSet.Single(codePoint), codePoint);
    }
}
