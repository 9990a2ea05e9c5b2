namespace TokenGrid.Inference.Templates;

/// <summary>
/// Builds the syntax tree from tokens, statement by statement, as @huggingface/jinja's parser does. Statements it
/// does not know are refused with <see cref="TemplateUnsupportedException"/> (known Jinja statements such as
/// <c>include</c>) or <see cref="TemplateSyntaxException"/> (anything else).
/// </summary>
internal sealed class TemplateParser
{
    private static readonly HashSet<string> KnownButUnsupported =
    [
        "include", "extends", "block", "endblock", "import", "from", "raw", "endraw", "with", "endwith", "autoescape",
        "endautoescape", "do", "trans", "endtrans", "pluralize",
    ];

    private readonly TokenCursor _cursor;
    private readonly ExpressionParser _expressions;

    private TemplateParser(TokenCursor cursor)
    {
        _cursor = cursor;
        _expressions = new ExpressionParser(cursor);
    }

    public static List<Node> Parse(TokenCursor cursor)
    {
        var parser = new TemplateParser(cursor);
        var program = new List<Node>();
        while (!cursor.AtEnd)
        {
            program.Add(parser.ParseAny());
        }

        return program;
    }

    private Node ParseAny()
    {
        var token = _cursor.Current;
        switch (token.Kind)
        {
            case TokenKind.Comment:
                _cursor.Next();
                return new CommentNode(token.Offset);
            case TokenKind.Text:
                _cursor.Next();
                return new TextNode(token.Offset, token.Value);
            case TokenKind.OpenStatement:
                return ParseStatement();
            case TokenKind.OpenExpression:
                _cursor.Next();
                var expression = _expressions.ParseExpression();
                _cursor.Expect(TokenKind.CloseExpression, "'}}'");
                return expression;
            default:
                throw _cursor.Syntax($"Unexpected token '{token.Value}'", "template", token.Offset);
        }
    }

    private Node ParseStatement()
    {
        _cursor.Expect(TokenKind.OpenStatement, "'{%'");
        var token = _cursor.Next();
        if (token.Kind != TokenKind.Identifier)
        {
            throw _cursor.Syntax($"Unknown statement, got '{token.Value}'", "statement", token.Offset);
        }

        switch (token.Value)
        {
            case "set":
                return ParseSet(token.Offset);
            case "if":
                var ifNode = ParseIf(token.Offset);
                ExpectEnd("endif");
                return ifNode;
            case "for":
                var forNode = ParseFor(token.Offset);
                ExpectEnd("endfor");
                return forNode;
            case "macro":
                return ParseMacro(token.Offset);
            case "call":
                return ParseCallBlock(token.Offset);
            case "filter":
                var filter = _expressions.ParseFilterName();
                _cursor.Expect(TokenKind.CloseStatement, "'%}'");
                var filterBody = ParseBodyUntil("endfilter");
                ExpectEnd("endfilter");
                return new FilterBlockNode(token.Offset, filter, filterBody);
            case "break" or "continue":
                _cursor.Expect(TokenKind.CloseStatement, "'%}'");
                return token.Value == "break" ? new BreakNode(token.Offset) : new ContinueNode(token.Offset);
            case var name when KnownButUnsupported.Contains(name):
                throw _cursor.Unsupported($"The '{name}' statement is not supported in chat templates", $"{{% {name} %}}", token.Offset);
            default:
                throw _cursor.Syntax($"Unknown statement type: {token.Value}", $"{{% {token.Value} %}}", token.Offset);
        }
    }

    private SetNode ParseSet(int offset)
    {
        var target = _expressions.ParseSequence();
        if (_cursor.Is(TokenKind.Equals))
        {
            _cursor.Next();
            var value = _expressions.ParseSequence();
            _cursor.Expect(TokenKind.CloseStatement, "'%}'");
            return new SetNode(offset, target, value, []);
        }

        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endset");
        ExpectEnd("endset");
        return new SetNode(offset, target, null, body);
    }

    private IfNode ParseIf(int offset)
    {
        var test = _expressions.ParseExpression();
        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseBodyUntil("elif", "else", "endif");
        var alternate = new List<Node>();
        if (_cursor.IsStatement("elif"))
        {
            var elifOffset = _cursor.Current.Offset;
            _cursor.Position += 2;
            alternate.Add(ParseIf(elifOffset));
        }
        else if (_cursor.IsStatement("else"))
        {
            _cursor.Position += 2;
            _cursor.Expect(TokenKind.CloseStatement, "'%}'");
            alternate = ParseBodyUntil("endif");
        }

        return new IfNode(offset, test, body, alternate);
    }

    private ForNode ParseFor(int offset)
    {
        var target = _expressions.ParseSequence(primary: true);
        if (target is not (IdentifierNode or TupleNode))
        {
            throw _cursor.Syntax("Expected identifier/tuple for the loop variable", "{% for %}", target.Offset);
        }

        if (!_cursor.IsIdentifier("in"))
        {
            throw _cursor.Syntax("Expected `in` keyword following loop variable", "{% for %}", offset);
        }

        _cursor.Next();
        var iterable = _expressions.ParseExpression();
        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endfor", "else");
        var otherwise = new List<Node>();
        if (_cursor.IsStatement("else"))
        {
            _cursor.Position += 2;
            _cursor.Expect(TokenKind.CloseStatement, "'%}'");
            otherwise = ParseBodyUntil("endfor");
        }

        return new ForNode(offset, target, iterable, body, otherwise);
    }

    private MacroNode ParseMacro(int offset)
    {
        if (_expressions.ParsePrimary() is not IdentifierNode name)
        {
            throw _cursor.Syntax("Expected identifier following macro statement", "{% macro %}", offset);
        }

        var parameters = _expressions.ParseArguments(parameters: true);
        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endmacro");
        ExpectEnd("endmacro");
        return new MacroNode(offset, name.Name, parameters, body);
    }

    private CallBlockNode ParseCallBlock(int offset)
    {
        var callerParameters = _cursor.Is(TokenKind.OpenParen) ? _expressions.ParseArguments(parameters: true) : [];
        if (_expressions.ParsePrimary() is not IdentifierNode callee)
        {
            throw _cursor.Syntax("Expected identifier following call statement", "{% call %}", offset);
        }

        var call = new CallNode(callee.Offset, callee, _expressions.ParseArguments(parameters: false));
        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endcall");
        ExpectEnd("endcall");
        return new CallBlockNode(offset, call, callerParameters, body);
    }

    private List<Node> ParseBodyUntil(params string[] ends)
    {
        var body = new List<Node>();
        while (!_cursor.IsStatement(ends))
        {
            if (_cursor.AtEnd)
            {
                throw _cursor.EndOfTemplate($"{{% {ends.First(e => e.StartsWith("end", StringComparison.Ordinal))} %}}");
            }

            body.Add(ParseAny());
        }

        return body;
    }

    private void ExpectEnd(string name)
    {
        _cursor.Expect(TokenKind.OpenStatement, "'{%'");
        _cursor.ExpectIdentifier(name);
        _cursor.Expect(TokenKind.CloseStatement, "'%}'");
    }
}
