using System.Globalization;

namespace TokenGrid.Abstractions.Billing;

/// <summary>
/// An exact amount of money in millionths of the currency's major unit ("micros": 1 USD = 1,000,000), as an integer,
/// never floating point. Micros are fine enough to price a single token of the cheapest model (0.01 USD per million
/// tokens is 0.01 micro per token) to within the one rounding each charge line gets (see <see cref="Pricing"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.Money")]
public readonly record struct Money([property: Id(0)] long Micros) : IComparable<Money>
{
    /// <summary>Micros in one major unit.</summary>
    public const long MicrosPerUnit = 1_000_000;

    /// <summary>No money.</summary>
    public static Money Zero => default;

    /// <summary>
    /// Parses a decimal amount in major units ("0.15", "12", "1.000001") exactly. The grammar is strict: an optional
    /// minus, then <c>0</c> or digits without a leading zero, then optionally a point and 1 to 6 digits
    /// (<c>-?(0|[1-9][0-9]*)(\.[0-9]{1,6})?</c>); a minus before zero ("-0", "-0.0") is refused too, as is an amount
    /// beyond what a long holds in micros (about ±9.2 trillion). Anything else ("+1", "1.", ".5", "0001.5", "1e3", a 7th
    /// decimal, a comma, spaces) is refused, never rounded.
    /// </summary>
    public static bool TryParse(string? text, out Money money)
    {
        money = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var rest = text.AsSpan();
        var negative = rest[0] == '-';
        if (negative)
        {
            rest = rest[1..];
        }

        var point = rest.IndexOf('.');
        var whole = point < 0 ? rest : rest[..point];
        var fraction = point < 0 ? [] : rest[(point + 1)..];
        if (whole.Length is 0 or > MaxWholeDigits || (whole.Length > 1 && whole[0] == '0') || !IsDigits(whole)
            || (point >= 0 && (fraction.Length is 0 or > Decimals || !IsDigits(fraction))))
        {
            return false;
        }

        // At most 19 whole digits and 6 decimals: exact in 128 bits, so no step can overflow before the range check.
        Int128 micros = 0;
        foreach (var digit in whole)
        {
            micros = (micros * 10) + (digit - '0');
        }

        for (var i = 0; i < Decimals; i++)
        {
            micros = (micros * 10) + (i < fraction.Length ? fraction[i] - '0' : 0);
        }

        if (negative)
        {
            micros = -micros;
        }

        if (micros > long.MaxValue || micros < long.MinValue || (negative && micros == 0))
        {
            return false;
        }

        money = new Money((long)micros);
        return true;
    }

    private const int Decimals = 6;

    /// <summary>More whole digits than a long has can never fit (and would only cost work).</summary>
    private const int MaxWholeDigits = 19;

    private static bool IsDigits(ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');

    /// <summary>The amount in major units, exactly (a decimal holds every long of micros).</summary>
    public decimal ToDecimal() => (decimal)Micros / MicrosPerUnit;

    /// <summary>The amount with 6 decimals, invariant culture ("0.150000").</summary>
    public override string ToString() => ToDecimal().ToString("0.000000", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public int CompareTo(Money other) => Micros.CompareTo(other.Micros);

#pragma warning disable CS1591 // Operators are self-describing.
    public static Money operator +(Money a, Money b) => new(checked(a.Micros + b.Micros));
    public static Money operator -(Money a, Money b) => new(checked(a.Micros - b.Micros));
    public static bool operator <(Money a, Money b) => a.Micros < b.Micros;
    public static bool operator >(Money a, Money b) => a.Micros > b.Micros;
    public static bool operator <=(Money a, Money b) => a.Micros <= b.Micros;
    public static bool operator >=(Money a, Money b) => a.Micros >= b.Micros;
#pragma warning restore CS1591

    /// <summary>The smaller of two amounts.</summary>
    public static Money Min(Money a, Money b) => a <= b ? a : b;

    /// <summary>The larger of two amounts.</summary>
    public static Money Max(Money a, Money b) => a >= b ? a : b;
}
