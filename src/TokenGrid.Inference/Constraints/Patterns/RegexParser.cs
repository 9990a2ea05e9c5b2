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

    /// <summary>The deepest nesting of groups, so that parsing and building stay well within the stack.</summary>
    public const int MaxDepth = 100;

    private readonly PatternReader _in;
    private int _depth;

    private RegexParser(string pattern) => _in = new PatternReader(pattern);

    /// <summary>Parses <paramref name="pattern"/>; throws <see cref="ConstraintException"/> for what is unsupported.</summary>
    public static RegexNode Parse(string pattern)
    {
        var parser = new RegexParser(pattern);
        var choices = new List<RegexNode>();
        do
        {
            var anchoredStart = parser._in.Eat('^');
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
        while (parser._in.Eat('|'));

        if (!parser._in.AtEnd)
        {
            throw PatternReader.Unsupported("it has an unmatched ')'");
        }

        return choices.Count == 1 ? choices[0] : new AlternationNode(choices);
    }

    private RegexNode ParseDisjunction()
    {
        var choices = new List<RegexNode>();
        do
        {
            choices.Add(new SequenceNode(ParseSequence(topLevel: false, out _)));
        }
        while (_in.Eat('|'));

        return choices.Count == 1 ? choices[0] : new AlternationNode(choices);
    }

    private List<RegexNode> ParseSequence(bool topLevel, out bool anchoredEnd)
    {
        var parts = new List<RegexNode>();
        anchoredEnd = false;
        while (!_in.AtEnd && _in.Peek() != '|' && _in.Peek() != ')')
        {
            if (_in.Peek() == '$')
            {
                if (topLevel && (_in.Position + 1 == _in.Text.Length || _in.Peek(1) == '|'))
                {
                    _in.Position++;
                    anchoredEnd = true;
                    break;
                }

                throw PatternReader.Unsupported("'$' is only supported at the end of the pattern or of a top-level alternative");
            }

            if (_in.Peek() == '^')
            {
                throw PatternReader.Unsupported("'^' is only supported at the start of the pattern or of a top-level alternative");
            }

            var atom = ParseAtom();
            parts.Add(ParseQuantifier(atom));
        }

        return parts;
    }

    private RegexNode ParseQuantifier(RegexNode atom)
    {
        int min, max;
        if (_in.Eat('*'))
        {
            (min, max) = (0, -1);
        }
        else if (_in.Eat('+'))
        {
            (min, max) = (1, -1);
        }
        else if (_in.Eat('?'))
        {
            (min, max) = (0, 1);
        }
        else if (!TryBraces(out min, out max))
        {
            return atom;
        }

        _in.Eat('?'); // a lazy quantifier matches the same strings
        return new RepeatNode(atom, min, max);
    }

    // {n}, {n,} or {n,m}; anything else leaves '{' to be read as a literal (ECMA-262 Annex B).
    private bool TryBraces(out int min, out int max)
    {
        min = max = 0;
        var start = _in.Position;
        if (!_in.Eat('{') || !TryNumber(out min))
        {
            _in.Position = start;
            return false;
        }

        max = min;
        if (_in.Eat(','))
        {
            max = TryNumber(out var m) ? m : -1;
        }

        if (!_in.Eat('}'))
        {
            _in.Position = start;
            return false;
        }

        if (max != -1 && max < min)
        {
            throw PatternReader.Unsupported("a quantifier {n,m} has m < n");
        }

        return true;
    }

    private bool TryNumber(out int value)
    {
        value = 0;
        var start = _in.Position;
        while (!_in.AtEnd && char.IsAsciiDigit(_in.Peek()))
        {
            value = (int)Math.Min((value * 10L) + (_in.Peek() - '0'), int.MaxValue);
            _in.Position++;
        }

        if (value > MaxRepeat)
        {
            throw new ConstraintException("pattern", $"The pattern is too complex: a quantifier exceeds {MaxRepeat}.");
        }

        return _in.Position > start;
    }

    private RegexNode ParseAtom()
    {
        var c = _in.Peek();
        switch (c)
        {
            case '(':
                _in.Position++;
                ParseGroupPrefix();
                if (++_depth > MaxDepth)
                {
                    throw new ConstraintException("pattern", $"The pattern is too complex: groups nest deeper than {MaxDepth}.");
                }

                var inner = ParseDisjunction();
                _depth--;
                if (!_in.Eat(')'))
                {
                    throw PatternReader.Unsupported("a group is not closed");
                }

                return inner;
            case '.':
                _in.Position++;
                return new SetNode(CodePointSet.Dot);
            case '[':
                _in.Position++;
                return new SetNode(CharacterClassParser.Parse(_in));
            case '\\':
                _in.Position++;
                return new SetNode(EscapeParser.Parse(_in, inClass: false).Set);
            case '*' or '+' or '?':
                throw PatternReader.Unsupported($"'{c}' has nothing to repeat");
            case '{' when TryBraces(out _, out _):
                throw PatternReader.Unsupported("'{' has nothing to repeat");
            default:
                return new SetNode(CodePointSet.Single(_in.ReadCodePoint()));
        }
    }

    private void ParseGroupPrefix()
    {
        if (!_in.Eat('?'))
        {
            return;
        }

        if (_in.Eat(':'))
        {
            return;
        }

        if (_in.Peek() is '=' or '!' || (_in.Peek() == '<' && _in.Peek(1) is '=' or '!'))
        {
            throw PatternReader.Unsupported("lookahead and lookbehind are not supported");
        }

        if (_in.Eat('<'))
        {
            while (!_in.AtEnd && (char.IsAsciiLetterOrDigit(_in.Peek()) || _in.Peek() is '_' or '$'))
            {
                _in.Position++;
            }

            if (_in.Eat('>'))
            {
                return;
            }
        }

        throw PatternReader.Unsupported("inline flags and modifiers are not supported");
    }
}
