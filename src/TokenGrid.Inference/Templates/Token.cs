namespace TokenGrid.Inference.Templates;

/// <summary>Token kinds, as @huggingface/jinja's lexer names them.</summary>
internal enum TokenKind
{
    Text,
    NumericLiteral,
    StringLiteral,
    Identifier,
    Equals,
    OpenParen,
    CloseParen,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    OpenSquareBracket,
    CloseSquareBracket,
    OpenCurlyBracket,
    CloseCurlyBracket,
    Comma,
    Dot,
    Colon,
    Pipe,
    AdditiveBinaryOperator,
    MultiplicativeBinaryOperator,
    ExponentiationBinaryOperator,
    ComparisonBinaryOperator,
    UnaryOperator,
    Comment,
}

/// <summary>One token; <see cref="Offset"/> is its start in the preprocessed text.</summary>
internal sealed class Token(string value, TokenKind kind, int offset)
{
    public string Value { get; set; } = value;

    public TokenKind Kind { get; } = kind;

    public int Offset { get; } = offset;
}
