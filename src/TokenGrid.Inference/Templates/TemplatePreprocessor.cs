using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// The rewrites @huggingface/jinja applies to a template before lexing, byte for byte: drop one trailing newline,
/// <c>lstrip_blocks</c> and <c>trim_blocks</c> (both on, as transformers sets them), and remove transformers'
/// <c>{% generation %}</c> / <c>{% endgeneration %}</c> tags (keeping their body). Every output character remembers
/// its offset in the original source so errors can name the original line and column.
/// </summary>
internal sealed class TemplatePreprocessor
{
    private readonly StringBuilder _text = new();
    private readonly List<int> _map = [];

    private TemplatePreprocessor()
    {
    }

    /// <summary>The rewritten text and, for each of its characters, the offset in the original source.</summary>
    public static (string Text, int[] OriginalOffsets) Run(string source)
    {
        var text = source;
        var map = Enumerable.Range(0, source.Length).ToArray();
        if (text.EndsWith('\n'))
        {
            text = text[..^1];
            map = map[..^1];
        }

        (text, map) = LstripBlocks(text, map);
        (text, map) = TrimBlocks(text, map);
        return RemoveGenerationTags(text, map);
    }

    // /^[ \t]*({[#%-])/gm: spaces and tabs between a line start and a block, comment or "{-" go.
    private static (string, int[]) LstripBlocks(string s, int[] map)
    {
        var output = new TemplatePreprocessor();
        var i = 0;
        while (i < s.Length)
        {
            if (i == 0 || IsLineTerminator(s[i - 1]))
            {
                var q = i;
                while (q < s.Length && s[q] is ' ' or '\t')
                {
                    q++;
                }

                if (q > i && q + 1 < s.Length && s[q] == '{' && s[q + 1] is '#' or '%' or '-')
                {
                    i = q;
                }
            }

            output.Add(s[i], map[i]);
            i++;
        }

        return output.Result();
    }

    // /([#%-]})\n/g: the first newline after a tag goes.
    private static (string, int[]) TrimBlocks(string s, int[] map)
    {
        var output = new TemplatePreprocessor();
        for (var i = 0; i < s.Length; i++)
        {
            output.Add(s[i], map[i]);
            if (i + 2 < s.Length && s[i] is '#' or '%' or '-' && s[i + 1] == '}' && s[i + 2] == '\n')
            {
                output.Add(s[i + 1], map[i + 1]);
                i += 2;
            }
        }

        return output.Result();
    }

    // /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs: the tag goes, and the whitespace around it on the side of a '-'.
    private static (string, int[]) RemoveGenerationTags(string s, int[] map)
    {
        var output = new TemplatePreprocessor();
        var i = 0;
        while (i < s.Length)
        {
            if (MatchGeneration(s, i) is { } m)
            {
                if (!m.LeftStrip)
                {
                    output.AddRange(s, map, i, m.TagStart);
                }

                if (!m.RightStrip)
                {
                    output.AddRange(s, map, m.TagEnd, m.End);
                }

                i = m.End;
                continue;
            }

            output.Add(s[i], map[i]);
            i++;
        }

        return output.Result();
    }

    private static GenerationTag? MatchGeneration(string s, int start)
    {
        var p = SkipWhitespace(s, start);
        var tagStart = p;
        if (!At(s, p, "{%"))
        {
            return null;
        }

        p += 2;
        var leftStrip = At(s, p, "-");
        p = SkipWhitespace(s, leftStrip ? p + 1 : p);
        if (At(s, p, "end"))
        {
            p += 3;
        }

        if (!At(s, p, "generation"))
        {
            return null;
        }

        p = SkipWhitespace(s, p + "generation".Length);
        var rightStrip = At(s, p, "-");
        p = rightStrip ? p + 1 : p;
        if (!At(s, p, "%}"))
        {
            return null;
        }

        var tagEnd = p + 2;
        return new GenerationTag(tagStart, tagEnd, SkipWhitespace(s, tagEnd), leftStrip, rightStrip);
    }

    private static int SkipWhitespace(string s, int p)
    {
        while (p < s.Length && JsText.IsWhitespace(s[p]))
        {
            p++;
        }

        return p;
    }

    private static bool At(string s, int p, string what) => string.CompareOrdinal(s, p, what, 0, what.Length) == 0 && p + what.Length <= s.Length;

    private static bool IsLineTerminator(char c) => c is '\n' or '\r' or '\u2028' or '\u2029';

    private void Add(char c, int origin)
    {
        _text.Append(c);
        _map.Add(origin);
    }

    private void AddRange(string s, int[] map, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            Add(s[i], map[i]);
        }
    }

    private (string, int[]) Result() => (_text.ToString(), [.. _map]);

    private readonly record struct GenerationTag(int TagStart, int TagEnd, int End, bool LeftStrip, bool RightStrip);
}
