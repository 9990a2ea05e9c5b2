using System.Globalization;
using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Splits preprocessed template text into tokens exactly as @huggingface/jinja 0.5.11's <c>tokenize</c> does,
/// including its whitespace control (<c>{%-</c>, <c>-%}</c>, <c>{{-</c>, <c>-}}</c>, <c>{#-</c>, <c>-#}</c>).
/// </summary>
internal sealed class Lexer
{
    private static readonly (string Text, TokenKind Kind)[] Symbols =
    [
        ("{%", TokenKind.OpenStatement), ("%}", TokenKind.CloseStatement),
        ("{{", TokenKind.OpenExpression), ("}}", TokenKind.CloseExpression),
        ("(", TokenKind.OpenParen), (")", TokenKind.CloseParen), ("{", TokenKind.OpenCurlyBracket),
        ("}", TokenKind.CloseCurlyBracket), ("[", TokenKind.OpenSquareBracket), ("]", TokenKind.CloseSquareBracket),
        (",", TokenKind.Comma), (".", TokenKind.Dot), (":", TokenKind.Colon), ("|", TokenKind.Pipe),
        ("<=", TokenKind.ComparisonBinaryOperator), (">=", TokenKind.ComparisonBinaryOperator),
        ("==", TokenKind.ComparisonBinaryOperator), ("!=", TokenKind.ComparisonBinaryOperator),
        ("<", TokenKind.ComparisonBinaryOperator), (">", TokenKind.ComparisonBinaryOperator),
        ("+", TokenKind.AdditiveBinaryOperator), ("-", TokenKind.AdditiveBinaryOperator), ("~", TokenKind.AdditiveBinaryOperator),
        ("**", TokenKind.ExponentiationBinaryOperator), ("*", TokenKind.MultiplicativeBinaryOperator),
        ("//", TokenKind.MultiplicativeBinaryOperator), ("/", TokenKind.MultiplicativeBinaryOperator),
        ("%", TokenKind.MultiplicativeBinaryOperator), ("=", TokenKind.Equals),
    ];

    private readonly string _src;
    private readonly Func<int, SourceLocation> _locate;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _curlyDepth;

    private Lexer(string src, Func<int, SourceLocation> locate)
    {
        _src = src;
        _locate = locate;
    }

    public static List<Token> Tokenize(string preprocessed, Func<int, SourceLocation> locate) => new Lexer(preprocessed, locate).Run();

    private Token? Last => _tokens.Count > 0 ? _tokens[^1] : null;

    private List<Token> Run()
    {
        while (_pos < _src.Length)
        {
            if (Last is null or { Kind: TokenKind.CloseStatement or TokenKind.CloseExpression or TokenKind.Comment } && ReadText())
            {
                continue;
            }

            if (At("{#"))
            {
                ReadComment();
                continue;
            }

            if (At("{%-") || At("{{-"))
            {
                StripTrailingWhitespace();
                var statement = _src[_pos + 1] == '%';
                _tokens.Add(new Token(statement ? "{%" : "{{", statement ? TokenKind.OpenStatement : TokenKind.OpenExpression, _pos));
                _curlyDepth = statement ? _curlyDepth : 0;
                _pos += 3;
                continue;
            }

            ConsumeWhile(JsText.IsWhitespace);
            if (At("-%}") || At("-}}"))
            {
                var statement = _src[_pos + 1] == '%';
                _tokens.Add(new Token(statement ? "%}" : "}}", statement ? TokenKind.CloseStatement : TokenKind.CloseExpression, _pos));
                _pos += 3;
                SkipLeadingWhitespace();
                continue;
            }

            ReadCode();
        }

        return _tokens;
    }

    private bool ReadText()
    {
        var start = _pos;
        while (_pos < _src.Length && !(_src[_pos] == '{' && _pos + 1 < _src.Length && _src[_pos + 1] is '%' or '{' or '#'))
        {
            _pos++;
        }

        if (_pos == start)
        {
            return false;
        }

        _tokens.Add(new Token(_src[start.._pos], TokenKind.Text, start));
        return true;
    }

    private void ReadComment()
    {
        var start = _pos;
        _pos += 2;
        var stripBefore = _pos < _src.Length && _src[_pos] == '-';
        _pos += stripBefore ? 1 : 0;
        var bodyStart = _pos;
        while (!(_pos + 1 < _src.Length && _src[_pos] == '#' && _src[_pos + 1] == '}'))
        {
            if (_pos + 2 >= _src.Length)
            {
                throw Error("Missing end of comment tag", "{# comment #}", start);
            }

            _pos++;
        }

        var comment = _src[bodyStart.._pos];
        var stripAfter = comment.EndsWith('-');
        if (stripBefore)
        {
            StripTrailingWhitespace();
        }

        _tokens.Add(new Token(stripAfter ? comment[..^1] : comment, TokenKind.Comment, start));
        _pos += 2;
        if (stripAfter)
        {
            SkipLeadingWhitespace();
        }
    }

    private void ReadCode()
    {
        var c = _src[_pos];
        if (c is '-' or '+' && ReadSign(c))
        {
            return;
        }

        foreach (var (text, kind) in Symbols)
        {
            if ((text == "}}" && _curlyDepth > 0) || !At(text))
            {
                continue;
            }

            _tokens.Add(new Token(text, kind, _pos));
            _curlyDepth = kind switch
            {
                TokenKind.OpenExpression => 0,
                TokenKind.OpenCurlyBracket => _curlyDepth + 1,
                TokenKind.CloseCurlyBracket => _curlyDepth - 1,
                _ => _curlyDepth,
            };
            _pos += text.Length;
            return;
        }

        var start = _pos;
        if (c is '\'' or '"')
        {
            _pos++;
            var value = ConsumeWhile(x => x != c);
            if (_pos >= _src.Length)
            {
                throw Error("Unexpected end of input", "string literal", start);
            }

            _tokens.Add(new Token(value, TokenKind.StringLiteral, start));
            _pos++;
        }
        else if (JsText.IsDigit(c))
        {
            var number = ConsumeWhile(JsText.IsDigit);
            if (Last?.Kind != TokenKind.Dot && At(".") && _pos + 1 < _src.Length && JsText.IsDigit(_src[_pos + 1]))
            {
                _pos++;
                number += "." + ConsumeWhile(JsText.IsDigit);
            }

            _tokens.Add(new Token(number, TokenKind.NumericLiteral, start));
        }
        else if (JsText.IsWord(c))
        {
            _tokens.Add(new Token(ConsumeWhile(JsText.IsWord), TokenKind.Identifier, start));
        }
        else
        {
            throw Error($"Unexpected character: {c}", "expression", start);
        }
    }

    // A '-' or '+' after an operand is a binary operator (handled by the symbol table); elsewhere it is a sign.
    private bool ReadSign(char c)
    {
        var last = Last;
        if (last is null || last.Kind == TokenKind.Text)
        {
            throw Error($"Unexpected character: {c}", "expression", _pos);
        }

        if (last.Kind is TokenKind.Identifier or TokenKind.NumericLiteral or TokenKind.StringLiteral or TokenKind.CloseParen
            or TokenKind.CloseSquareBracket)
        {
            return false;
        }

        var start = _pos++;
        var number = ConsumeWhile(JsText.IsDigit);
        if (number.Length > 0 && At(".") && _pos + 1 < _src.Length && JsText.IsDigit(_src[_pos + 1]))
        {
            _pos++;
            number += "." + ConsumeWhile(JsText.IsDigit);
        }

        _tokens.Add(new Token(c + number, number.Length > 0 ? TokenKind.NumericLiteral : TokenKind.UnaryOperator, start));
        return true;
    }

    // Like the reference, escapes are decoded by every consumer; only string literals can contain a backslash.
    private string ConsumeWhile(Func<char, bool> predicate)
    {
        var text = new StringBuilder();
        while (_pos < _src.Length && predicate(_src[_pos]))
        {
            if (_src[_pos] == '\\')
            {
                text.Append(ReadEscape());
                continue;
            }

            text.Append(_src[_pos++]);
            if (_pos >= _src.Length)
            {
                throw Error("Unexpected end of input", "expression", _pos);
            }
        }

        return text.ToString();
    }

    private string ReadEscape()
    {
        var start = _pos++;
        if (_pos >= _src.Length)
        {
            throw Error("Unexpected end of input", "string escape", start);
        }

        var escaped = _src[_pos++];
        if (escaped is 'x' or 'u')
        {
            var length = escaped == 'x' ? 2 : 4;
            var hex = _src.Substring(_pos, Math.Min(length, _src.Length - _pos));
            if (hex.Length != length || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
            {
                throw Error($"Invalid hexadecimal escape sequence: \\{escaped}{hex}", "string escape", start);
            }

            _pos += length;
            return ((char)code).ToString();
        }

        return escaped switch
        {
            'n' => "\n",
            't' => "\t",
            'r' => "\r",
            'b' => "\b",
            'f' => "\f",
            'v' => "\v",
            '\'' or '"' or '\\' => escaped.ToString(),
            _ => throw Error($"Unexpected escaped character: {escaped}", "string escape", start),
        };
    }

    private void StripTrailingWhitespace()
    {
        if (Last is { Kind: TokenKind.Text } text)
        {
            text.Value = JsText.TrimEnd(text.Value);
            if (text.Value.Length == 0)
            {
                _tokens.RemoveAt(_tokens.Count - 1);
            }
        }
    }

    private void SkipLeadingWhitespace()
    {
        while (_pos < _src.Length && JsText.IsWhitespace(_src[_pos]))
        {
            _pos++;
        }
    }

    private bool At(string text) => string.CompareOrdinal(_src, _pos, text, 0, text.Length) == 0 && _pos + text.Length <= _src.Length;

    private TemplateSyntaxException Error(string detail, string construct, int offset) => new(detail, construct, _locate(offset));
}
