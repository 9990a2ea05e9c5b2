namespace TokenGrid.Inference.Constraints;

/// <summary>A cursor over a pattern's text, shared by the parsers of the pattern, its classes and its escapes.</summary>
internal sealed class PatternReader(string text)
{
    public string Text { get; } = text;

    public int Position { get; set; }

    public bool AtEnd => Position >= Text.Length;

    /// <summary>The character <paramref name="ahead"/> places on, or '\0' past the end.</summary>
    public char Peek(int ahead = 0) => Position + ahead < Text.Length ? Text[Position + ahead] : '\0';

    /// <summary>Reads <paramref name="c"/> if it comes next.</summary>
    public bool Eat(char c)
    {
        if (AtEnd || Text[Position] != c)
        {
            return false;
        }

        Position++;
        return true;
    }

    /// <summary>Reads one character; the caller has checked <see cref="AtEnd"/>.</summary>
    public char ReadChar() => Text[Position++];

    /// <summary>Reads one code point: a surrogate pair in the text is one.</summary>
    public int ReadCodePoint()
    {
        if (AtEnd)
        {
            throw Unsupported("it ends too early");
        }

        if (char.IsHighSurrogate(Text[Position]) && Position + 1 < Text.Length && char.IsLowSurrogate(Text[Position + 1]))
        {
            Position += 2;
            return char.ConvertToUtf32(Text[Position - 2], Text[Position - 1]);
        }

        return Text[Position++];
    }

    /// <summary>The exception for syntax outside the documented regex subset.</summary>
    public static ConstraintException Unsupported(string reason) =>
        new("pattern", $"The pattern uses unsupported syntax: {reason}.");
}
