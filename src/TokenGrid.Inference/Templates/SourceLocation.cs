namespace TokenGrid.Inference.Templates;

/// <summary>A 1-based line and column in a template's source.</summary>
internal readonly record struct SourceLocation(int Line, int Column)
{
    public static SourceLocation Of(string source, int offset)
    {
        var line = 1;
        var lineStart = 0;
        var end = Math.Clamp(offset, 0, source.Length);
        for (var i = 0; i < end; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new SourceLocation(line, end - lineStart + 1);
    }
}
