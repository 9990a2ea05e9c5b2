using System.Globalization;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// What a number may be: integer or not, and its <c>minimum</c> / <c>maximum</c> (inclusive or exclusive). Generated
/// numbers have at most <see cref="MaxIntegerDigits"/> digits before the point and <see cref="MaxFractionDigits"/>
/// after it and no exponent: a tighter set than JSON's, so a sequence cannot spend its tokens on one endless number.
/// </summary>
internal sealed record NumberBounds(bool Integer, decimal? Min, bool MinExclusive, decimal? Max, bool MaxExclusive)
{
    /// <summary>Most digits before the decimal point.</summary>
    public const int MaxIntegerDigits = 15;

    /// <summary>Most digits after the decimal point.</summary>
    public const int MaxFractionDigits = 12;

    private static readonly decimal s_limit = 1_000_000_000_000_000m;
    private static readonly decimal s_finest = 0.000_000_000_001m;

    /// <summary>Whether <paramref name="value"/> is allowed.</summary>
    public bool Allows(decimal value) =>
        (!Integer || decimal.Truncate(value) == value)
        && (Min is not { } min || (MinExclusive ? value > min : value >= min))
        && (Max is not { } max || (MaxExclusive ? value < max : value <= max));

    /// <summary>Whether some allowed value lies in [<paramref name="low"/>, <paramref name="high"/>] (both reachable).</summary>
    public bool Meets(decimal low, decimal high)
    {
        if (Integer)
        {
            low = decimal.Ceiling(low);
            high = decimal.Floor(high);
            if (Min is { } min)
            {
                low = Math.Max(low, MinExclusive ? decimal.Floor(min) + 1 : decimal.Ceiling(min));
            }

            if (Max is { } max)
            {
                high = Math.Min(high, MaxExclusive ? decimal.Ceiling(max) - 1 : decimal.Floor(max));
            }

            return low <= high;
        }

        return low <= high
            && (Min is not { } lo || (MinExclusive ? high > lo : high >= lo))
            && (Max is not { } hi || (MaxExclusive ? low < hi : low <= hi));
    }

    /// <summary>Whether the magnitudes in [<paramref name="low"/>, <paramref name="high"/>] with a sign meet the bounds.</summary>
    public bool MeetsSigned(decimal low, decimal high, bool negative) => negative ? Meets(-high, -low) : Meets(low, high);

    /// <summary>
    /// Whether a number written so far as <paramref name="prefix"/> can still be completed to an allowed value.
    /// </summary>
    public bool Reachable(in NumberPrefix prefix)
    {
        if (Min is null && Max is null)
        {
            return true;
        }

        var whole = Integer ? 0m : 1m - s_finest;
        switch (prefix.Phase)
        {
            case NumberPhase.Start:
                return Meets(-s_limit + 1, s_limit - 1);
            case NumberPhase.Minus:
                return MeetsSigned(0, s_limit - 1, negative: true);
            case NumberPhase.Zero:
                return MeetsSigned(0, whole, prefix.Negative);
            case NumberPhase.Integer:
                var scale = 1m;
                for (var more = 0; more <= MaxIntegerDigits - prefix.IntegerDigits; more++)
                {
                    var low = prefix.Value * scale;
                    if (MeetsSigned(low, low + scale - 1 + whole, prefix.Negative))
                    {
                        return true;
                    }

                    if (prefix.Negative ? Min is { } min && -low < min : Max is { } max && low > max)
                    {
                        return false; // every longer number lies further out
                    }

                    scale *= 10;
                }

                return false;
            case NumberPhase.Point:
                return MeetsSigned(prefix.Value, prefix.Value + 1 - s_finest, prefix.Negative);
            default:
                var step = prefix.FractionDigits >= MaxFractionDigits ? 0m : Pow10(-prefix.FractionDigits) - s_finest;
                return MeetsSigned(prefix.Value, prefix.Value + step, prefix.Negative);
        }
    }

    /// <summary>The length of the shortest allowed number's text; <see cref="SchemaNode.Unsatisfiable"/> when none.</summary>
    public int ShortestLength()
    {
        var best = SchemaNode.Unsatisfiable;
        foreach (var candidate in Candidates())
        {
            if (Allows(candidate) && Math.Abs(candidate) < s_limit)
            {
                best = Math.Min(best, Format(candidate).Length);
            }
        }

        return best;
    }

    /// <summary>A number as generated text (invariant culture, no exponent, no trailing zeros).</summary>
    public static string Format(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);

    private IEnumerable<decimal> Candidates()
    {
        yield return 0m;
        for (var digits = 0; digits <= (Integer ? 0 : MaxFractionDigits); digits++)
        {
            var unit = Pow10(-digits);
            if (Min is { } min && Math.Abs(min) < s_limit)
            {
                var up = decimal.Ceiling(min / unit) * unit;
                yield return up;
                yield return up + unit;
            }

            if (Max is { } max && Math.Abs(max) < s_limit)
            {
                var down = decimal.Floor(max / unit) * unit;
                yield return down;
                yield return down - unit;
            }
        }
    }

    private static decimal Pow10(int exponent)
    {
        var value = 1m;
        for (var i = 0; i < Math.Abs(exponent); i++)
        {
            value = exponent > 0 ? value * 10 : value / 10;
        }

        return value;
    }
}

/// <summary>Where a number being written is.</summary>
internal enum NumberPhase
{
    /// <summary>Nothing yet.</summary>
    Start,

    /// <summary>After <c>-</c>.</summary>
    Minus,

    /// <summary>After a leading <c>0</c>: only the point or the end may follow.</summary>
    Zero,

    /// <summary>In the digits before the point.</summary>
    Integer,

    /// <summary>After the point: a digit must follow.</summary>
    Point,

    /// <summary>In the digits after the point.</summary>
    Fraction,
}

/// <summary>A number written so far: its phase, sign, value and digit counts.</summary>
internal readonly record struct NumberPrefix(NumberPhase Phase, bool Negative, decimal Value, int IntegerDigits, int FractionDigits)
{
    /// <summary>The prefix after <paramref name="b"/>, or null when <paramref name="b"/> cannot continue a number here.</summary>
    public NumberPrefix? Push(byte b, bool integer)
    {
        var digit = b - (byte)'0';
        var isDigit = digit is >= 0 and <= 9;
        switch (Phase)
        {
            case NumberPhase.Start when b == '-':
                return this with { Phase = NumberPhase.Minus, Negative = true };
            case NumberPhase.Start or NumberPhase.Minus when isDigit:
                return digit == 0
                    ? this with { Phase = NumberPhase.Zero }
                    : this with { Phase = NumberPhase.Integer, Value = digit, IntegerDigits = 1 };
            case NumberPhase.Integer when isDigit && IntegerDigits < NumberBounds.MaxIntegerDigits:
                return this with { Value = (Value * 10) + digit, IntegerDigits = IntegerDigits + 1 };
            case NumberPhase.Zero or NumberPhase.Integer when b == '.' && !integer:
                return this with { Phase = NumberPhase.Point };
            case NumberPhase.Point or NumberPhase.Fraction when isDigit && FractionDigits < NumberBounds.MaxFractionDigits:
                var scale = 1m;
                for (var i = 0; i <= FractionDigits; i++)
                {
                    scale /= 10;
                }

                return this with { Phase = NumberPhase.Fraction, Value = Value + (digit * scale), FractionDigits = FractionDigits + 1 };
            default:
                return null;
        }
    }

    /// <summary>Whether the text so far is a whole number.</summary>
    public bool IsComplete => Phase is NumberPhase.Zero or NumberPhase.Integer or NumberPhase.Fraction;

    /// <summary>The value written so far, signed.</summary>
    public decimal Signed => Negative ? -Value : Value;
}
