namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>One entry of <c>added_tokens</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized)
{
    public static AddedToken Read(JsonConfig config) => new(
        config.Int("id", -1) is >= 0 and var id ? id : throw config.Child("id").Invalid("must be a non-negative integer"),
        config.String("content"),
        config.Bool("special", false),
        config.Bool("single_word", false),
        config.Bool("lstrip", false),
        config.Bool("rstrip", false),
        config.Bool("normalized", !config.Bool("special", false)));
}

/// <summary>A piece of the input: either text still to tokenize, or an added token already recognised.</summary>
internal readonly record struct Segment(string Text, int Start, int? TokenId);

/// <summary>
/// Finds added tokens in text as the Rust library's <c>AddedVocabulary::find_matches</c> does: leftmost-longest,
/// non-overlapping; a <c>single_word</c> token only between non-word characters; <c>lstrip</c>/<c>rstrip</c>
/// take the white space beside the token into it. Immutable, so thread-safe.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<string, AddedToken> _tokens;
    private readonly Dictionary<string, AddedToken>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<char, int[]> _lengthsByFirstChar = [];

    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        _tokens = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (var (pattern, token) in tokens)
        {
            if (pattern.Length > 0)
            {
                _tokens[pattern] = token;
            }
        }

        _lookup = _tokens.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var group in _tokens.Keys.GroupBy(k => k[0]))
        {
            _lengthsByFirstChar[group.Key] = [.. group.Select(k => k.Length).Distinct().OrderDescending()];
        }
    }

    public bool IsEmpty => _tokens.Count == 0;

    /// <summary>Splits <paramref name="text"/> (which starts at <paramref name="offset"/> of the input) into text and token segments.</summary>
    public void Split(string text, int offset, List<Segment> output)
    {
        if (IsEmpty || text.Length == 0)
        {
            output.Add(new Segment(text, offset, null));
            return;
        }

        var consumed = 0;
        var position = 0;
        while (position < text.Length)
        {
            if (!TryMatch(text, position, out var token, out var length))
            {
                position++;
                continue;
            }

            var start = position;
            var stop = position + length;
            position = stop;
            if (token.SingleWord && ((start > 0 && IsWordCharacter(text, start - 1, before: true)) || (stop < text.Length && IsWordCharacter(text, stop, before: false))))
            {
                continue;
            }

            if (token.LStrip)
            {
                var newStart = start;
                while (newStart > 0 && char.IsWhiteSpace(text[newStart - 1]))
                {
                    newStart--;
                }

                start = Math.Max(newStart, consumed);
            }

            if (token.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop]))
                {
                    stop++;
                }
            }

            if (consumed < start)
            {
                output.Add(new Segment(text[consumed..start], offset + consumed, null));
            }

            output.Add(new Segment(text[start..stop], offset + start, token.Id));
            consumed = stop;
            position = stop;
        }

        if (consumed < text.Length)
        {
            output.Add(new Segment(text[consumed..], offset + consumed, null));
        }
    }

    private bool TryMatch(string text, int position, out AddedToken token, out int length)
    {
        if (_lengthsByFirstChar.TryGetValue(text[position], out var lengths))
        {
            foreach (var candidate in lengths)
            {
                if (position + candidate <= text.Length && _lookup.TryGetValue(text.AsSpan(position, candidate), out token!))
                {
                    length = candidate;
                    return true;
                }
            }
        }

        token = null!;
        length = 0;
        return false;
    }

    /// <summary>The Rust library's <c>is_word_character</c>: alphanumeric or underscore.</summary>
    private static bool IsWordCharacter(string text, int index, bool before)
    {
        var rune = before
            ? (index > 0 && char.IsSurrogatePair(text[index - 1], text[index]) ? new System.Text.Rune(text[index - 1], text[index]) : new System.Text.Rune(text[index]))
            : (index + 1 < text.Length && char.IsSurrogatePair(text[index], text[index + 1]) ? new System.Text.Rune(text[index], text[index + 1]) : new System.Text.Rune(text[index]));
        return System.Text.Rune.IsLetterOrDigit(rune) || rune.Value == '_';
    }
}
