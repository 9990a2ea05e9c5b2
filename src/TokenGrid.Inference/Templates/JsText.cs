using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// JavaScript's notions of whitespace, word characters and case, which @huggingface/jinja (the reference renderer)
/// inherits. They differ from .NET's <see cref="char.IsWhiteSpace(char)"/> at the edges (U+0085, U+FEFF).
/// </summary>
internal static class JsText
{
    /// <summary>JavaScript's <c>\s</c>: WhiteSpace and LineTerminator code points.</summary>
    public static bool IsWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029' or '\u202f'
            or '\u205f' or '\u3000' or '\ufeff' => true,
        _ => c is >= '\u2000' and <= '\u200a',
    };

    /// <summary>JavaScript's <c>\w</c>: ASCII letters, digits and underscore.</summary>
    public static bool IsWord(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    public static string Trim(string s) => TrimEnd(TrimStart(s));

    public static string TrimStart(string s)
    {
        var i = 0;
        while (i < s.Length && IsWhitespace(s[i]))
        {
            i++;
        }

        return s[i..];
    }

    public static string TrimEnd(string s)
    {
        var i = s.Length;
        while (i > 0 && IsWhitespace(s[i - 1]))
        {
            i--;
        }

        return s[..i];
    }

    /// <summary><c>String.prototype.toUpperCase</c>, including the one common special casing (ß → SS).</summary>
    public static string ToUpper(string s)
    {
        var upper = s.ToUpperInvariant();
        return upper.Contains('ß', StringComparison.Ordinal) ? upper.Replace("ß", "SS", StringComparison.Ordinal) : upper;
    }

    public static string ToLower(string s) => s.ToLowerInvariant();

    /// <summary>@huggingface/jinja's <c>title</c>: upper-cases each ASCII word character that starts a word; the rest is kept.</summary>
    public static string TitleCase(string s)
    {
        var text = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var startsWord = IsWord(s[i]) && (i == 0 || !IsWord(s[i - 1]));
            text.Append(startsWord ? char.ToUpperInvariant(s[i]) : s[i]);
        }

        return text.ToString();
    }

    /// <summary>The code points of <paramref name="s"/>, each as a string (<c>Array.from(string)</c>).</summary>
    public static List<string> CodePoints(string s)
    {
        var points = new List<string>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var pair = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
            points.Add(pair ? s.Substring(i++, 2) : s[i].ToString());
        }

        return points;
    }
}
