using System.Globalization;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Expressions, with @huggingface/jinja's precedence (lowest first): ternary / select, <c>or</c>, <c>and</c>,
/// <c>not</c>, comparison and membership, <c>+ - ~</c>, <c>* / // %</c>, <c>**</c> (left-associative), <c>is</c> tests,
/// <c>|</c> filters, unary signs, calls and member access, primaries.
/// </summary>
internal sealed class ExpressionParser(TokenCursor cursor)
{
    public Node ParseExpression() => ParseIfExpression();

    /// <summary>One expression, or a tuple when commas follow (<c>a, b</c>).</summary>
    public Node ParseSequence(bool primary = false)
    {
        var start = cursor.Current.Offset;
        var first = primary ? ParsePrimary() : ParseExpression();
        if (!cursor.Is(TokenKind.Comma))
        {
            return first;
        }

        var items = new List<Node> { first };
        while (cursor.Is(TokenKind.Comma))
        {
            cursor.Next();
            items.Add(primary ? ParsePrimary() : ParseExpression());
        }

        return new TupleNode(start, items);
    }

    /// <summary>A parenthesised argument list; in <c>parameters</c> mode, names with optional defaults.</summary>
    public List<Node> ParseArguments(bool parameters) => new ArgumentListParser(cursor, this).Parse(parameters);

    private Node ParseIfExpression()
    {
        var value = ParseOr();
        if (!cursor.IsIdentifier("if"))
        {
            return value;
        }

        var offset = cursor.Next().Offset;
        var test = ParseOr();
        if (!cursor.IsIdentifier("else"))
        {
            return new SelectNode(offset, value, test);
        }

        cursor.Next();
        return new TernaryNode(offset, test, value, ParseIfExpression());
    }

    private Node ParseOr() => ParseLeftAssociative(ParseAnd, () => cursor.IsIdentifier("or"));

    private Node ParseAnd() => ParseLeftAssociative(ParseNot, () => cursor.IsIdentifier("and"));

    private Node ParseNot()
    {
        if (!cursor.IsIdentifier("not"))
        {
            return ParseComparison();
        }

        var token = cursor.Next();
        return new UnaryNode(token.Offset, "not", ParseNot());
    }

    private Node ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            string op;
            var offset = cursor.AtEnd ? 0 : cursor.Current.Offset;
            if (cursor.IsIdentifier("not", "in"))
            {
                cursor.Position += 2;
                op = "not in";
            }
            else if (cursor.IsIdentifier("in") || cursor.Is(TokenKind.ComparisonBinaryOperator))
            {
                op = cursor.Next().Value;
            }
            else
            {
                return left;
            }

            left = new BinaryNode(offset, op, left, ParseAdditive());
        }
    }

    private Node ParseAdditive() => ParseLeftAssociative(ParseMultiplicative, () => cursor.Is(TokenKind.AdditiveBinaryOperator));

    private Node ParseMultiplicative() => ParseLeftAssociative(ParsePower, () => cursor.Is(TokenKind.MultiplicativeBinaryOperator));

    private Node ParsePower() => ParseLeftAssociative(ParseTest, () => cursor.Is(TokenKind.ExponentiationBinaryOperator));

    private Node ParseLeftAssociative(Func<Node> operand, Func<bool> atOperator)
    {
        var left = operand();
        while (atOperator())
        {
            var token = cursor.Next();
            left = new BinaryNode(token.Offset, token.Value, left, operand());
        }

        return left;
    }

    private Node ParseTest()
    {
        var operand = ParseFilter();
        while (cursor.IsIdentifier("is"))
        {
            var offset = cursor.Next().Offset;
            var negate = cursor.IsIdentifier("not");
            if (negate)
            {
                cursor.Next();
            }

            if (ParsePrimary() is not IdentifierNode test)
            {
                throw cursor.Syntax("Expected identifier for the test", "is test", offset);
            }

            if (cursor.Is(TokenKind.OpenParen) || cursor.Is(TokenKind.NumericLiteral) || cursor.Is(TokenKind.StringLiteral))
            {
                throw cursor.Unsupported($"Tests with arguments ('is {test.Name}(...)') are not supported", $"test '{test.Name}'", offset);
            }

            operand = new TestNode(offset, operand, negate, test.Name);
        }

        return operand;
    }

    private Node ParseFilter()
    {
        var operand = ParseUnarySign();
        while (cursor.Is(TokenKind.Pipe))
        {
            var offset = cursor.Next().Offset;
            operand = new FilterNode(offset, operand, ParseFilterName());
        }

        return operand;
    }

    /// <summary>A filter name, called when arguments follow: <c>name</c> or <c>name(args)</c>.</summary>
    public Node ParseFilterName()
    {
        var offset = cursor.AtEnd ? 0 : cursor.Current.Offset;
        if (ParsePrimary() is not IdentifierNode filter)
        {
            throw cursor.Syntax("Expected identifier for the filter", "filter", offset);
        }

        return cursor.Is(TokenKind.OpenParen) ? ParseCall(filter) : filter;
    }

    private Node ParseUnarySign()
    {
        if (!cursor.AtEnd && cursor.Current is { Kind: TokenKind.UnaryOperator or TokenKind.AdditiveBinaryOperator, Value: "-" or "+" } token)
        {
            cursor.Next();
            return new UnaryNode(token.Offset, token.Value, ParseUnarySign());
        }

        var member = ParseMember(ParsePrimary());
        return cursor.Is(TokenKind.OpenParen) ? ParseCall(member) : member;
    }

    private Node ParseCall(Node callee)
    {
        Node expression = new CallNode(callee.Offset, callee, ParseArguments(parameters: false));
        expression = ParseMember(expression);
        return cursor.Is(TokenKind.OpenParen) ? ParseCall(expression) : expression;
    }

    private Node ParseMember(Node target)
    {
        while (cursor.Is(TokenKind.Dot) || cursor.Is(TokenKind.OpenSquareBracket))
        {
            var token = cursor.Next();
            if (token.Kind == TokenKind.OpenSquareBracket)
            {
                var property = ParseSubscript(token.Offset);
                cursor.Expect(TokenKind.CloseSquareBracket, "']'");
                target = new MemberNode(token.Offset, target, property, computed: true);
            }
            else
            {
                var property = ParsePrimary();
                if (property is not (IdentifierNode or IntegerNode))
                {
                    throw cursor.Syntax("Expected identifier or integer following dot operator", "attribute access", token.Offset);
                }

                target = new MemberNode(token.Offset, target, property, computed: false);
            }
        }

        return target;
    }

    private Node ParseSubscript(int offset)
    {
        var parts = new List<Node?>();
        var isSlice = false;
        while (!cursor.Is(TokenKind.CloseSquareBracket))
        {
            if (cursor.Is(TokenKind.Colon))
            {
                parts.Add(null);
                cursor.Next();
                isSlice = true;
                continue;
            }

            parts.Add(ParseExpression());
            if (cursor.Is(TokenKind.Colon))
            {
                cursor.Next();
                isSlice = true;
            }
        }

        if (parts.Count == 0)
        {
            throw cursor.Syntax("Expected at least one argument for member/slice expression", "subscript", offset);
        }

        if (!isSlice)
        {
            return parts[0]!;
        }

        return parts.Count > 3
            ? throw cursor.Syntax("Expected 0-3 arguments for slice expression", "slice", offset)
            : new SliceNode(offset, parts[0], parts.ElementAtOrDefault(1), parts.ElementAtOrDefault(2));
    }

    public Node ParsePrimary()
    {
        var token = cursor.Next();
        switch (token.Kind)
        {
            case TokenKind.NumericLiteral:
                var number = double.Parse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture);
                return token.Value.Contains('.') ? new FloatNode(token.Offset, number) : new IntegerNode(token.Offset, number);
            case TokenKind.StringLiteral:
                var text = token.Value;
                while (cursor.Is(TokenKind.StringLiteral))
                {
                    text += cursor.Next().Value;
                }

                return new StringNode(token.Offset, text);
            case TokenKind.Identifier:
                return new IdentifierNode(token.Offset, token.Value);
            case TokenKind.OpenParen:
                var inner = ParseSequence();
                cursor.Expect(TokenKind.CloseParen, "')'");
                return inner;
            case TokenKind.OpenSquareBracket:
                var items = new List<Node>();
                while (!cursor.Is(TokenKind.CloseSquareBracket))
                {
                    items.Add(ParseExpression());
                    if (cursor.Is(TokenKind.Comma))
                    {
                        cursor.Next();
                    }
                }

                cursor.Next();
                return new ArrayNode(token.Offset, items);
            case TokenKind.OpenCurlyBracket:
                var entries = new List<(Node, Node)>();
                while (!cursor.Is(TokenKind.CloseCurlyBracket))
                {
                    var key = ParseExpression();
                    cursor.Expect(TokenKind.Colon, "':' between key and value in object literal");
                    entries.Add((key, ParseExpression()));
                    if (cursor.Is(TokenKind.Comma))
                    {
                        cursor.Next();
                    }
                }

                cursor.Next();
                return new ObjectNode(token.Offset, entries);
            default:
                throw cursor.Syntax($"Unexpected token: {token.Kind}", "expression", token.Offset);
        }
    }
}
