namespace TokenGrid.Inference.Constraints;

/// <summary>
/// An immutable set of Unicode code points, held as sorted, disjoint, non-adjacent inclusive ranges. Code points
/// above U+FFFF are single members like any other; nothing here knows about UTF-16.
/// </summary>
internal sealed class CodePointSet
{
    /// <summary>The largest code point.</summary>
    public const int MaxCodePoint = 0x10FFFF;

    // Pairs: _bounds[2k] is the first code point of range k, _bounds[2k + 1] its last.
    private readonly int[] _bounds;

    private CodePointSet(int[] bounds) => _bounds = bounds;

    /// <summary>The empty set.</summary>
    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every code point.</summary>
    public static CodePointSet All { get; } = new([0, MaxCodePoint]);

    /// <summary>ECMA-262 <c>\d</c>: ASCII digits.</summary>
    public static CodePointSet Digit { get; } = new(['0', '9']);

    /// <summary>ECMA-262 <c>\w</c>: ASCII letters, digits and underscore.</summary>
    public static CodePointSet Word { get; } = new(['0', '9', 'A', 'Z', '_', '_', 'a', 'z']);

    /// <summary>ECMA-262 <c>\s</c>: WhiteSpace (with the Unicode space separators and U+FEFF) and LineTerminator.</summary>
    public static CodePointSet Space { get; } = new([
        0x09, 0x0D, 0x20, 0x20, 0xA0, 0xA0, 0x1680, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F,
        0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF,
    ]);

    /// <summary>ECMA-262 <c>.</c>: every code point but the line terminators \n \r U+2028 U+2029.</summary>
    public static CodePointSet Dot { get; } = new CodePointSet(['\n', '\n', '\r', '\r', 0x2028, 0x2029]).Complement();

    /// <summary>The number of ranges.</summary>
    public int RangeCount => _bounds.Length / 2;

    /// <summary>Whether the set has no member.</summary>
    public bool IsEmpty => _bounds.Length == 0;

    /// <summary>The first code point of range <paramref name="index"/>.</summary>
    public int First(int index) => _bounds[2 * index];

    /// <summary>The last code point of range <paramref name="index"/>.</summary>
    public int Last(int index) => _bounds[(2 * index) + 1];

    /// <summary>The set holding the code points <paramref name="first"/> to <paramref name="last"/>.</summary>
    public static CodePointSet Range(int first, int last) => new([first, last]);

    /// <summary>The set holding one code point.</summary>
    public static CodePointSet Single(int codePoint) => new([codePoint, codePoint]);

    /// <summary>Whether <paramref name="codePoint"/> is a member.</summary>
    public bool Contains(int codePoint)
    {
        int lo = 0, hi = RangeCount - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (codePoint < First(mid))
            {
                hi = mid - 1;
            }
            else if (codePoint > Last(mid))
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every code point not in this set.</summary>
    public CodePointSet Complement()
    {
        var result = new List<int>(_bounds.Length + 2);
        var next = 0;
        for (var k = 0; k < RangeCount; k++)
        {
            if (First(k) > next)
            {
                result.Add(next);
                result.Add(First(k) - 1);
            }

            next = Last(k) + 1;
        }

        if (next <= MaxCodePoint)
        {
            result.Add(next);
            result.Add(MaxCodePoint);
        }

        return new CodePointSet([.. result]);
    }

    /// <summary>The union of this set and <paramref name="other"/>.</summary>
    public CodePointSet Union(CodePointSet other) => FromRanges(Pairs().Concat(other.Pairs()));

    /// <summary>The set of the given inclusive ranges, which may overlap and come in any order.</summary>
    public static CodePointSet FromRanges(IEnumerable<(int First, int Last)> ranges)
    {
        var sorted = ranges.Where(r => r.First <= r.Last).OrderBy(r => r.First).ToList();
        var result = new List<int>(sorted.Count * 2);
        foreach (var (first, last) in sorted)
        {
            // Merge with the previous range when it overlaps or touches.
            if (result.Count > 0 && first <= result[^1] + 1)
            {
                result[^1] = Math.Max(result[^1], last);
            }
            else
            {
                result.Add(first);
                result.Add(last);
            }
        }

        return new CodePointSet([.. result]);
    }

    private IEnumerable<(int First, int Last)> Pairs()
    {
        for (var k = 0; k < RangeCount; k++)
        {
            yield return (First(k), Last(k));
        }
    }
}
