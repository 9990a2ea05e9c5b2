namespace TokenGrid.Inference.Templates;

/// <summary>The parser's position in the token list, with the look-ahead helpers of @huggingface/jinja's parser.</summary>
internal sealed class TokenCursor(List<Token> tokens, Func<int, SourceLocation> locate, int endOffset)
{
    public int Position { get; set; }

    public bool AtEnd => Position >= tokens.Count;

    public Token Current => AtEnd ? throw EndOfTemplate() : tokens[Position];

    public Token Next()
    {
        if (AtEnd)
        {
            throw EndOfTemplate();
        }

        return tokens[Position++];
    }

    public bool Is(params TokenKind[] kinds)
    {
        if (Position + kinds.Length > tokens.Count)
        {
            return false;
        }

        for (var i = 0; i < kinds.Length; i++)
        {
            if (tokens[Position + i].Kind != kinds[i])
            {
                return false;
            }
        }

        return true;
    }

    public bool IsIdentifier(params string[] names)
    {
        if (Position + names.Length > tokens.Count)
        {
            return false;
        }

        for (var i = 0; i < names.Length; i++)
        {
            if (tokens[Position + i] is not { Kind: TokenKind.Identifier } token || token.Value != names[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the next tokens are <c>{%</c> and one of <paramref name="names"/>.</summary>
    public bool IsStatement(params string[] names) =>
        Position + 1 < tokens.Count && tokens[Position].Kind == TokenKind.OpenStatement
        && tokens[Position + 1].Kind == TokenKind.Identifier && names.Contains(tokens[Position + 1].Value);

    public Token Expect(TokenKind kind, string what)
    {
        var token = Next();
        return token.Kind == kind ? token : throw Syntax($"Expected {what}, got {Describe(token)}", what, token.Offset);
    }

    public void ExpectIdentifier(string name)
    {
        var token = Next();
        if (token.Kind != TokenKind.Identifier || token.Value != name)
        {
            throw Syntax($"Expected {name}, got {Describe(token)}", name, token.Offset);
        }
    }

    public TemplateSyntaxException Syntax(string detail, string construct, int offset) => new(detail, construct, locate(offset));

    public TemplateUnsupportedException Unsupported(string detail, string construct, int offset) => new(detail, construct, locate(offset));

    public TemplateSyntaxException EndOfTemplate(string? missing = null) =>
        Syntax(missing is null ? "Unexpected end of template" : $"Unexpected end of template: missing {missing}", "template", endOffset);

    private static string Describe(Token token) => token.Kind is TokenKind.Text ? "text" : $"'{token.Value}'";
}
