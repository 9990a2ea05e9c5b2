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
    /// Parses a decimal amount in major units ("0.15", "12", "1.000001") exactly; more than 6 decimals, an exponent or
    /// anything but digits, one optional point and an optional leading minus is refused.
    /// </summary>
    public static bool TryParse(string? text, out Money money)
    {
        money = default;
        if (string.IsNullOrEmpty(text) || text.Length > 32
            || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || value.Scale > 6)
        {
            return false;
        }

        var micros = value * MicrosPerUnit;
        if (micros is > long.MaxValue or < long.MinValue)
        {
            return false;
        }

        money = new Money((long)micros);
        return true;
    }

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
