using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>A piece of text during pre-tokenization; <see cref="AtStart"/> when it begins the original input.</summary>
internal readonly record struct Piece(string Text, bool AtStart);

/// <summary>What happens to the delimiters a pattern finds (Hugging Face's <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>
/// Splits a piece into matches and the text between them, then applies a <see cref="SplitBehavior"/> exactly
/// as <c>NormalizedString::split</c> does; empty pieces are dropped, as <c>PreTokenizedString::split</c> does.
/// </summary>
internal static class Splitting
{
    public static SplitBehavior ParseBehavior(JsonConfig config, string name)
    {
        var value = config.Child(name);
        return value.IsNull ? SplitBehavior.Isolated : config.String(name) switch
        {
            "Removed" => SplitBehavior.Removed,
            "Isolated" => SplitBehavior.Isolated,
            "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
            "MergedWithNext" => SplitBehavior.MergedWithNext,
            "Contiguous" => SplitBehavior.Contiguous,
            var other => throw value.Unsupported($"'{other}'"),
        };
    }

    /// <summary>Matches of <paramref name="regex"/> and the gaps between them, in order.</summary>
    public static List<(int Start, int End, bool Match)> RegexMatches(Regex regex, string text, bool invert)
    {
        var spans = new List<(int, int, bool)>();
        if (text.Length == 0)
        {
            spans.Add((0, 0, invert));
            return spans;
        }

        var previous = 0;
        foreach (var match in regex.EnumerateMatches(text))
        {
            if (previous != match.Index)
            {
                spans.Add((previous, match.Index, invert));
            }

            spans.Add((match.Index, match.Index + match.Length, !invert));
            previous = match.Index + match.Length;
        }

        if (previous != text.Length)
        {
            spans.Add((previous, text.Length, invert));
        }

        return spans;
    }

    /// <summary>Each character (code point) for which <paramref name="isDelimiter"/> holds is a match of its own.</summary>
    public static List<(int Start, int End, bool Match)> CharMatches(string text, Func<int, bool> isDelimiter)
    {
        var spans = new List<(int, int, bool)>();
        var last = 0;
        for (var i = 0; i < text.Length;)
        {
            var width = char.IsSurrogatePair(text, i) ? 2 : 1;
            var codePoint = width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            if (isDelimiter(codePoint))
            {
                if (last < i)
                {
                    spans.Add((last, i, false));
                }

                spans.Add((i, i + width, true));
                last = i + width;
            }

            i += width;
        }

        if (last < text.Length)
        {
            spans.Add((last, text.Length, false));
        }

        return spans;
    }

    /// <summary>Applies <paramref name="behavior"/> to <paramref name="spans"/> of <paramref name="piece"/> and adds the non-empty results.</summary>
    public static void Apply(Piece piece, List<(int Start, int End, bool Match)> spans, SplitBehavior behavior, List<Piece> output)
    {
        var ranges = new List<(int Start, int End)>(spans.Count);
        var previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                ranges.AddRange(spans.Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.Removed:
                ranges.AddRange(spans.Where(s => !s.Match).Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var (start, end, match) in spans)
                {
                    if (match && !previousMatch && ranges.Count > 0)
                    {
                        ranges[^1] = (ranges[^1].Start, end);
                    }
                    else
                    {
                        ranges.Add((start, end));
                    }

                    previousMatch = match;
                }

                break;
            case SplitBehavior.MergedWithNext:
                for (var i = spans.Count - 1; i >= 0; i--)
                {
                    var (start, end, match) = spans[i];
                    if (match && !previousMatch && ranges.Count > 0)
                    {
                        ranges[^1] = (start, ranges[^1].End);
                    }
                    else
                    {
                        ranges.Add((start, end));
                    }

                    previousMatch = match;
                }

                ranges.Reverse();
                break;
            case SplitBehavior.Contiguous:
                foreach (var (start, end, match) in spans)
                {
                    if (match == previousMatch && ranges.Count > 0)
                    {
                        ranges[^1] = (ranges[^1].Start, end);
                    }
                    else
                    {
                        ranges.Add((start, end));
                    }

                    previousMatch = match;
                }

                break;
        }

        foreach (var (start, end) in ranges)
        {
            if (end > start)
            {
                output.Add(new Piece(piece.Text[start..end], piece.AtStart && start == 0));
            }
        }
    }
}
