namespace TokenGrid.Inference.Templates;

/// <summary>
/// Argument lists of calls (<c>f(a, *rest, k=v, **more)</c>) and parameter lists of macros (<c>(a, b=1)</c>), with
/// the reference's ordering rules (positional before keyword, one <c>*</c>, <c>**</c> last).
/// </summary>
internal sealed class ArgumentListParser(TokenCursor cursor, ExpressionParser expressions)
{
    /// <summary>A parenthesised argument list; in <c>parameters</c> mode, names with optional defaults.</summary>
    public List<Node> Parse(bool parameters)
    {
        cursor.Expect(TokenKind.OpenParen, "'('");
        var args = new List<Node>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawKeyword = false, sawSpread = false;
        while (!cursor.Is(TokenKind.CloseParen))
        {
            var token = cursor.Current;
            var keywordSpread = token.Kind == TokenKind.ExponentiationBinaryOperator;
            var spread = token.Kind == TokenKind.MultiplicativeBinaryOperator && token.Value == "*";
            if (parameters && (keywordSpread || spread))
            {
                throw cursor.Syntax("Argument unpacking is not allowed in parameter declarations", "macro parameters", token.Offset);
            }

            if (keywordSpread)
            {
                cursor.Next();
                args.Add(new SpreadNode(token.Offset, expressions.ParseExpression(), keywords: true));
                if (cursor.Is(TokenKind.Comma))
                {
                    cursor.Next();
                }

                if (!cursor.Is(TokenKind.CloseParen))
                {
                    throw cursor.Syntax("Expected closing parenthesis: `**` must be applied to the final argument", "call", token.Offset);
                }

                break;
            }

            Node argument;
            if (spread)
            {
                if (sawSpread)
                {
                    throw cursor.Syntax("Only one `*` argument unpacking is allowed", "call", token.Offset);
                }

                sawSpread = true;
                cursor.Next();
                argument = new SpreadNode(token.Offset, expressions.ParseExpression(), keywords: false);
            }
            else
            {
                argument = ParseArgument(parameters, names, ref sawKeyword, sawSpread);
            }

            args.Add(argument);
            if (cursor.Is(TokenKind.Comma))
            {
                cursor.Next();
            }
        }

        cursor.Expect(TokenKind.CloseParen, "')'");
        return args;
    }

    private Node ParseArgument(bool parameters, HashSet<string> names, ref bool sawKeyword, bool sawSpread)
    {
        var offset = cursor.Current.Offset;
        var argument = expressions.ParseExpression();
        if (cursor.Is(TokenKind.Equals))
        {
            cursor.Next();
            if (argument is not IdentifierNode name)
            {
                throw cursor.Syntax(parameters ? "Expected identifier for parameter declaration" : "Expected identifier for keyword argument", "arguments", offset);
            }

            argument = new KeywordArgumentNode(offset, name.Name, expressions.ParseExpression());
        }

        if (parameters)
        {
            var parameterName = argument switch
            {
                IdentifierNode id => id.Name,
                KeywordArgumentNode kw => kw.Name,
                _ => throw cursor.Syntax("Expected identifier for parameter declaration", "macro parameters", offset),
            };
            if (!names.Add(parameterName))
            {
                throw cursor.Syntax($"Duplicate parameter name: {parameterName}", "macro parameters", offset);
            }
        }

        if (argument is KeywordArgumentNode)
        {
            sawKeyword = true;
        }
        else if (sawKeyword)
        {
            throw cursor.Syntax(parameters ? "Non-default argument follows default argument" : "Positional arguments must come before keyword arguments", "arguments", offset);
        }
        else if (sawSpread)
        {
            throw cursor.Syntax("Positional arguments must not follow `*` argument unpacking", "arguments", offset);
        }

        return argument;
    }
}
