using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// Rewrites an Oniguruma pattern of a tokenizer.json for .NET. Oniguruma matches code points, .NET matches
/// UTF-16 code units, so a class such as <c>[\p{P}\p{S}]</c> misses 🎉 (a surrogate pair, category Cs to .NET)
/// and <c>[^\p{L}\p{N}]?</c> takes half of one (measured on the deepseek_v3 and llama3 files). Every class and
/// <c>\p{…}</c> is therefore computed as a set of code points and written back as BMP ranges plus an
/// alternation of surrogate pairs. The rest of the pattern is passed through: the constructs these files use
/// outside classes (<c>\s</c>, <c>(?i:…)</c>, <c>(?!\S)</c>, <c>{1,3}</c>) mean the same to both engines.
/// </summary>
internal static class RegexTranslator
{
    private const int MaxCodePoint = 0x10FFFF;
    private static readonly ConcurrentDictionary<string, bool[]> s_categories = new();

    public static string Translate(string pattern)
    {
        var output = new StringBuilder(pattern.Length * 2);
        for (var i = 0; i < pattern.Length;)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length && pattern[i + 1] is 'p' or 'P')
            {
                var set = new bool[MaxCodePoint + 1];
                i = AddProperty(pattern, i, set, negate: false);
                output.Append(Emit(set));
            }
            else if (c == '\\' && i + 1 < pattern.Length)
            {
                output.Append(pattern, i, 2);
                i += 2;
            }
            else if (c == '[')
            {
                var set = new bool[MaxCodePoint + 1];
                i = ParseClass(pattern, i, set);
                output.Append(Emit(set));
            }
            else
            {
                output.Append(c);
                i++;
            }
        }

        return output.ToString();
    }

    /// <summary>Parses the class starting at <paramref name="start"/> (a '[') into <paramref name="set"/>; returns the index after its ']'.</summary>
    private static int ParseClass(string pattern, int start, bool[] set)
    {
        var i = start + 1;
        var negated = i < pattern.Length && pattern[i] == '^';
        if (negated)
        {
            i++;
        }

        var members = new bool[MaxCodePoint + 1];
        var first = true;
        while (i < pattern.Length && (pattern[i] != ']' || first))
        {
            first = false;
            if (pattern[i] == '[' || (pattern[i] == '&' && i + 1 < pattern.Length && pattern[i + 1] == '&'))
            {
                throw new ArgumentException($"nested classes and && in '{pattern}' are not supported");
            }

            if (pattern[i] == '\\' && i + 1 < pattern.Length && pattern[i + 1] is 'p' or 'P')
            {
                i = AddProperty(pattern, i, members, negate: false);
                continue;
            }

            if (pattern[i] == '\\' && i + 1 < pattern.Length && pattern[i + 1] is 's' or 'd' or 'w' or 'S' or 'D' or 'W')
            {
                AddShorthand(pattern[i + 1], members);
                i += 2;
                continue;
            }

            var low = ReadChar(pattern, ref i);
            var high = low;
            if (i + 1 < pattern.Length && pattern[i] == '-' && pattern[i + 1] != ']')
            {
                i++;
                high = ReadChar(pattern, ref i);
            }

            for (var cp = low; cp <= high; cp++)
            {
                members[cp] = true;
            }
        }

        if (i >= pattern.Length)
        {
            throw new ArgumentException($"unterminated class in '{pattern}'");
        }

        for (var cp = 0; cp <= MaxCodePoint; cp++)
        {
            set[cp] = members[cp] != negated;
        }

        return i + 1;
    }

    private static int ReadChar(string pattern, ref int i)
    {
        if (pattern[i] != '\\')
        {
            var cp = char.IsSurrogatePair(pattern, i) ? char.ConvertToUtf32(pattern, i) : pattern[i];
            i += cp > 0xFFFF ? 2 : 1;
            return cp;
        }

        var escaped = pattern[i + 1];
        i += 2;
        switch (escaped)
        {
            case 'r': return '\r';
            case 'n': return '\n';
            case 't': return '\t';
            case 'f': return '\f';
            case 'v': return '\v';
            case 'u':
                i += 4;
                return int.Parse(pattern.AsSpan(i - 4, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            case 'x' when pattern[i] == '{':
                var end = pattern.IndexOf('}', i);
                var value = int.Parse(pattern.AsSpan(i + 1, end - i - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                i = end + 1;
                return value;
            case 'x':
                i += 2;
                return int.Parse(pattern.AsSpan(i - 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            default:
                return char.IsAsciiLetterOrDigit(escaped) ? throw new ArgumentException($"escape \\{escaped} in a class is not supported") : escaped;
        }
    }

    private static int AddProperty(string pattern, int i, bool[] set, bool negate)
    {
        var negated = pattern[i + 1] == 'P' != negate;
        if (i + 2 >= pattern.Length || pattern[i + 2] != '{')
        {
            throw new ArgumentException($"\\{pattern[i + 1]} without {{name}} in '{pattern}'");
        }

        var end = pattern.IndexOf('}', i);
        var property = Category(pattern[(i + 3)..end]);
        for (var cp = 0; cp <= MaxCodePoint; cp++)
        {
            set[cp] |= property[cp] != negated;
        }

        return end + 1;
    }

    private static void AddShorthand(char shorthand, bool[] set)
    {
        var negated = char.IsUpper(shorthand);
        for (var cp = 0; cp <= MaxCodePoint; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var category = Rune.GetUnicodeCategory(new Rune(cp));
            var member = char.ToLowerInvariant(shorthand) switch
            {
                's' => Rune.IsWhiteSpace(new Rune(cp)),
                'd' => category == UnicodeCategory.DecimalDigitNumber,
                _ => Rune.IsLetterOrDigit(new Rune(cp)) || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                    or UnicodeCategory.EnclosingMark or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.LetterNumber || cp is 0x200C or 0x200D,
            };
            set[cp] |= member != negated;
        }
    }

    /// <summary>The code points of a general category (<c>L</c>, <c>Lu</c>, <c>N</c>, …).</summary>
    private static bool[] Category(string name) => s_categories.GetOrAdd(name, static n =>
    {
        var categories = Enum.GetValues<UnicodeCategory>().Where(c => Abbreviation(c).StartsWith(n, StringComparison.Ordinal) && n.Length <= 2).ToHashSet();
        if (categories.Count == 0)
        {
            throw new ArgumentException($"\\p{{{n}}} is not a general category .NET can compute");
        }

        var set = new bool[MaxCodePoint + 1];
        for (var cp = 0; cp <= MaxCodePoint; cp++)
        {
            set[cp] = cp is < 0xD800 or > 0xDFFF && categories.Contains(Rune.GetUnicodeCategory(new Rune(cp)));
        }

        return set;
    });

    private static string Abbreviation(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => "Lu", UnicodeCategory.LowercaseLetter => "Ll", UnicodeCategory.TitlecaseLetter => "Lt",
        UnicodeCategory.ModifierLetter => "Lm", UnicodeCategory.OtherLetter => "Lo", UnicodeCategory.NonSpacingMark => "Mn",
        UnicodeCategory.SpacingCombiningMark => "Mc", UnicodeCategory.EnclosingMark => "Me", UnicodeCategory.DecimalDigitNumber => "Nd",
        UnicodeCategory.LetterNumber => "Nl", UnicodeCategory.OtherNumber => "No", UnicodeCategory.SpaceSeparator => "Zs",
        UnicodeCategory.LineSeparator => "Zl", UnicodeCategory.ParagraphSeparator => "Zp", UnicodeCategory.Control => "Cc",
        UnicodeCategory.Format => "Cf", UnicodeCategory.Surrogate => "Cs", UnicodeCategory.PrivateUse => "Co",
        UnicodeCategory.ConnectorPunctuation => "Pc", UnicodeCategory.DashPunctuation => "Pd", UnicodeCategory.OpenPunctuation => "Ps",
        UnicodeCategory.ClosePunctuation => "Pe", UnicodeCategory.InitialQuotePunctuation => "Pi", UnicodeCategory.FinalQuotePunctuation => "Pf",
        UnicodeCategory.OtherPunctuation => "Po", UnicodeCategory.MathSymbol => "Sm", UnicodeCategory.CurrencySymbol => "Sc",
        UnicodeCategory.ModifierSymbol => "Sk", UnicodeCategory.OtherSymbol => "So", _ => "Cn",
    };

    /// <summary>A set of code points as <c>(?:[BMP ranges]|high[low ranges]|…)</c>.</summary>
    private static string Emit(bool[] set)
    {
        var output = new StringBuilder("(?:");
        var bmp = new StringBuilder();
        foreach (var (low, high) in Ranges(set, 0, 0xFFFF))
        {
            if (low is >= 0xD800 and <= 0xDFFF && high is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            bmp.Append(CultureInfo.InvariantCulture, $"\\u{low:X4}");
            if (high > low)
            {
                bmp.Append(CultureInfo.InvariantCulture, $"-\\u{high:X4}");
            }
        }

        var alternatives = new List<string>();
        if (bmp.Length > 0)
        {
            alternatives.Add($"[{bmp}]");
        }

        // Astral code points grouped by high surrogate; runs of high surrogates with the same low ranges share one branch.
        string? previousLows = null;
        var runStart = 0;
        for (var hi = 0xD800; hi <= 0xDC00; hi++)
        {
            var lows = hi < 0xDC00 ? LowRanges(set, hi) : null;
            if (lows == previousLows)
            {
                continue;
            }

            if (previousLows is { Length: > 0 })
            {
                alternatives.Add(hi - 1 == runStart ? $"\\u{runStart:X4}[{previousLows}]" : $"[\\u{runStart:X4}-\\u{hi - 1:X4}][{previousLows}]");
            }

            previousLows = lows;
            runStart = hi;
        }

        if (alternatives.Count == 0)
        {
            return "(?!)";
        }

        // A guard on the high surrogate keeps a BMP character that is not in the set from trying every astral branch.
        var astral = alternatives.Skip(bmp.Length > 0 ? 1 : 0).ToList();
        if (bmp.Length > 0)
        {
            output.Append(alternatives[0]);
            if (astral.Count > 0)
            {
                output.Append('|');
            }
        }

        if (astral.Count > 0)
        {
            output.Append("(?=[\uD800-\uDBFF])(?:").AppendJoin('|', astral).Append(')');
        }

        return output.Append(')').ToString();
    }

    private static string LowRanges(bool[] set, int highSurrogate)
    {
        var baseCodePoint = 0x10000 + ((highSurrogate - 0xD800) << 10);
        var text = new StringBuilder();
        foreach (var (low, high) in Ranges(set, baseCodePoint, baseCodePoint + 0x3FF))
        {
            text.Append(CultureInfo.InvariantCulture, $"\\u{0xDC00 + low - baseCodePoint:X4}");
            if (high > low)
            {
                text.Append(CultureInfo.InvariantCulture, $"-\\u{0xDC00 + high - baseCodePoint:X4}");
            }
        }

        return text.ToString();
    }

    private static IEnumerable<(int Low, int High)> Ranges(bool[] set, int from, int to)
    {
        for (var cp = from; cp <= to; cp++)
        {
            if (!set[cp])
            {
                continue;
            }

            var start = cp;
            while (cp + 1 <= to && set[cp + 1])
            {
                cp++;
            }

            yield return (start, cp);
        }
    }
}
