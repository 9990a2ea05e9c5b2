using System.Text;
using System.Text.RegularExpressions;

namespace TokenGrid.Inference.Tests.Constraints.Patterns;

/// <summary>
/// The reference matcher: .NET's own regex engine in ECMAScript mode (ASCII \d and \w, as ECMA-262), with the
/// constructs where .NET still differs from ECMA-262 rewritten: '.' also excludes \r, U+2028 and U+2029; \s holds
/// the Unicode space separators and U+FEFF; \w is ASCII only (.NET's adds U+0130 and U+0131); '$' matches only at the
/// very end (not before a final \n).
/// Strings given to it must be BMP-only: .NET counts UTF-16 units, the automaton code points.
/// </summary>
internal static class EcmaReference
{
    private const string Space = @"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

    public static Regex Create(string pattern) =>
        new(Rewrite(pattern), RegexOptions.ECMAScript | RegexOptions.CultureInvariant);

    public static string Rewrite(string pattern)
    {
        var result = new StringBuilder();
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var e = pattern[++i];
                result.Append((e, inClass) switch
                {
                    ('s', false) => $"[{Space}]",
                    ('S', false) => $"[^{Space}]",
                    ('s', true) => Space,
                    ('S', true) => throw new NotSupportedException(@"\S inside a class has no rewrite"),
                    // .NET's ECMAScript word class also holds U+0130 and U+0131 (for case-insensitive matching);
                    // ECMA-262's \w is exactly [A-Za-z0-9_].
                    ('w', false) => "[A-Za-z0-9_]",
                    ('W', false) => "[^A-Za-z0-9_]",
                    ('w', true) => "A-Za-z0-9_",
                    ('W', true) => throw new NotSupportedException(@"\W inside a class has no rewrite"),
                    _ => $"\\{e}",
                });
            }
            else if (inClass)
            {
                inClass = c != ']';
                result.Append(c);
            }
            else
            {
                inClass = c == '[';
                result.Append(c switch
                {
                    '.' => @"[^\n\r\u2028\u2029]",
                    '$' => @"\z",
                    _ => c.ToString(),
                });
            }
        }

        return result.ToString();
    }
}
