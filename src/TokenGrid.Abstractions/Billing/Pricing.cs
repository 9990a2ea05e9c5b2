namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// The arithmetic of prices, in one place so the rule is the same everywhere (ledger, statements, SQL views):
/// a charge line of <c>tokens</c> at a price per million tokens is <c>tokens × price ÷ 1,000,000</c> micros, computed
/// exactly in 128-bit integers and rounded once, half to even (banker's rounding), to whole micros. Shares of a line
/// (discount, subsidy) are computed from the line's rounded amount with the same rule, and the tenant's share is what
/// is left, so the parts always add up to the line exactly.
/// </summary>
public static class Pricing
{
    /// <summary>Basis points in a whole (100% = 10,000).</summary>
    public const int BasisPointsPerWhole = 10_000;

    private const long TokensPerPriceUnit = 1_000_000;

    /// <summary>The amount of <paramref name="tokens"/> at <paramref name="perMillion"/>, rounded once to micros.</summary>
    public static Money Amount(long tokens, Money perMillion)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return TryMultiply(tokens, perMillion.Micros, out var product)
            ? new Money(RoundHalfEven(product, TokensPerPriceUnit))
            : new Money(checked((long)RoundHalfEven((Int128)tokens * perMillion.Micros, TokensPerPriceUnit)));
    }

    /// <summary><paramref name="basisPoints"/> of <paramref name="amount"/>, rounded once to micros.</summary>
    public static Money Share(Money amount, int basisPoints)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(basisPoints);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(basisPoints, BasisPointsPerWhole);
        return TryMultiply(amount.Micros, basisPoints, out var product)
            ? new Money(RoundHalfEven(product, BasisPointsPerWhole))
            : new Money((long)RoundHalfEven((Int128)amount.Micros * basisPoints, BasisPointsPerWhole));
    }

    /// <summary>
    /// <paramref name="a"/> × <paramref name="b"/> when it fits in 64 bits, as it does for every realistic line: the
    /// same exact product the 128-bit path forms, without its software division (every admission prices a dozen lines).
    /// </summary>
    private static bool TryMultiply(long a, long b, out long product)
    {
        var high = Math.BigMul(a, b, out product);
        return high == product >> 63;
    }

    /// <summary>The 64-bit form of <see cref="RoundHalfEven(Int128, long)"/>: the same rule, the same result.</summary>
    private static long RoundHalfEven(long numerator, long denominator)
    {
        var (whole, remainder) = Math.DivRem(numerator, denominator);
        if (remainder == 0)
        {
            return whole;
        }

        // |remainder| < denominator, so twice it cannot overflow.
        var twice = Math.Abs(remainder) * 2;
        var away = twice > denominator || (twice == denominator && (whole & 1) != 0);
        return away ? whole + Math.Sign(numerator) : whole;
    }

    /// <summary><paramref name="numerator"/> ÷ <paramref name="denominator"/> (positive), rounded half to even.</summary>
    internal static Int128 RoundHalfEven(Int128 numerator, long denominator)
    {
        var quotient = Int128.DivRem(numerator, denominator);
        var (whole, remainder) = quotient;
        if (remainder == 0)
        {
            return whole;
        }

        // Compare twice the remainder's magnitude with the denominator: below half rounds toward zero, above away.
        var twice = Int128.Abs(remainder) * 2;
        var away = twice > denominator || (twice == denominator && !Int128.IsEvenInteger(whole));
        return away ? whole + Int128.Sign(numerator) : whole;
    }
}
