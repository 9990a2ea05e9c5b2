using TokenGrid.Abstractions.Billing;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class PricingTests
{
    private static Money M(string text) => Money.TryParse(text, out var money) ? money : throw new ArgumentException(text);

    [Theory]
    [InlineData("0.15", 150_000)]
    [InlineData("12", 12_000_000)]
    [InlineData("1.000001", 1_000_001)]
    [InlineData("-0.5", -500_000)]
    [InlineData("0", 0)]
    [InlineData("0.000000", 0)]
    [InlineData("10.5", 10_500_000)]
    [InlineData("9223372036854.775807", long.MaxValue)]
    [InlineData("-9223372036854.775808", long.MinValue)]
    public void Amounts_parse_exactly(string text, long micros)
    {
        Assert.True(Money.TryParse(text, out var money));
        Assert.Equal(micros, money.Micros);
    }

    [Theory]
    [InlineData("1.0000001")]
    [InlineData("1e3")]
    [InlineData("")]
    [InlineData("NaN")]
    [InlineData("1,5")]
    [InlineData("99999999999999999999")]
    [InlineData("+1")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("0001.5")]
    [InlineData("00")]
    [InlineData("-0")]
    [InlineData("-0.000")]
    [InlineData("-")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("--1")]
    [InlineData("1.2.3")]
    [InlineData("9223372036854.775808")]
    [InlineData("-9223372036854.775809")]
    public void Anything_but_an_exact_decimal_of_at_most_six_places_is_refused(string text) =>
        Assert.False(Money.TryParse(text, out _));

    /// <summary>Numbers of 23 to 28 digits once overflowed a decimal times a million (an exception, a 500 at the API).</summary>
    [Theory]
    [InlineData("99999999999999999999999")]
    [InlineData("9999999999999999999999999999")]
    [InlineData("79228162514264337593543950335")]
    [InlineData("-9999999999999999999999999999")]
    [InlineData("9999999999999999999999.5")]
    public void Amounts_too_large_for_micros_are_refused_without_throwing(string text) =>
        Assert.False(Money.TryParse(text, out _));

    [Theory]
    [InlineData("0.15", "0.150000")]
    [InlineData("-0.000001", "-0.000001")]
    [InlineData("1234567.5", "1234567.500000")]
    public void Amounts_print_with_six_decimals(string text, string printed) => Assert.Equal(printed, M(text).ToString());

    [Theory]
    // 1.5 micros per token: one token is 1.5 micros, rounded half to even to 2; three tokens are 4.5, to 4.
    [InlineData(1, "1.5", 2)]
    [InlineData(3, "1.5", 4)]
    [InlineData(1, "2.5", 2)]
    [InlineData(1_000_000, "0.15", 150_000)]
    [InlineData(7, "0.15", 1)]
    [InlineData(0, "30", 0)]
    public void A_line_is_tokens_times_price_rounded_once_half_to_even(long tokens, string perMillion, long micros) =>
        Assert.Equal(micros, Pricing.Amount(tokens, M(perMillion)).Micros);

    [Fact]
    public void Large_volumes_stay_exact()
    {
        // A trillion tokens at 60 per million: 60,000,000 units, no floating point on the way.
        Assert.Equal(60_000_000L * Money.MicrosPerUnit, Pricing.Amount(1_000_000_000_000, M("60")).Micros);
    }

    [Theory]
    [InlineData(5, 5_000, 2)] // 2.5 -> 2
    [InlineData(7, 5_000, 4)] // 3.5 -> 4
    [InlineData(-5, 5_000, -2)]
    [InlineData(100, 4_000, 40)]
    [InlineData(100, 10_000, 100)]
    public void A_share_of_a_line_rounds_once_half_to_even(long micros, int basisPoints, long expected) =>
        Assert.Equal(expected, Pricing.Share(new Money(micros), basisPoints).Micros);
    /// <summary>
    /// Amounts and shares against the rule computed with <see cref="System.Numerics.BigInteger"/>, for products on both
    /// sides of 64 bits (where the arithmetic changes from the 64-bit path to the 128-bit one), exact halves included.
    /// </summary>
    [Fact]
    public void Amounts_and_shares_follow_the_rule_on_both_sides_of_64_bits()
    {
        var random = new Random(20261204);
        for (var i = 0; i < 200_000; i++)
        {
            var magnitude = random.Next(64);
            var tokens = random.Next(3) == 0 ? random.NextInt64(0, 2_000_000) : random.NextInt64(0, long.MaxValue) >> magnitude;
            var micros = (random.Next(2) == 0 ? 1 : -1) * (random.NextInt64(0, long.MaxValue) >> random.Next(64));
            if (random.Next(8) == 0)
            {
                // Products of exactly half a micro, so half to even decides.
                (tokens, micros) = (random.NextInt64(0, 1_000_000) * 2 + 1, 500_000);
            }

            var amount = Rule(tokens, micros, 1_000_000);
            if (amount >= long.MinValue && amount <= long.MaxValue)
            {
                Assert.Equal((long)amount, Pricing.Amount(tokens, new Money(micros)).Micros);
            }
            else
            {
                Assert.Throws<OverflowException>(() => Pricing.Amount(tokens, new Money(micros)));
            }

            var basisPoints = random.Next(3) == 0 ? 5_000 : random.Next(0, 10_001);
            Assert.Equal((long)Rule(micros, basisPoints, 10_000), Pricing.Share(new Money(micros), basisPoints).Micros);
        }
    }

    /// <summary><paramref name="a"/> × <paramref name="b"/> ÷ <paramref name="denominator"/>, rounded half to even.</summary>
    private static System.Numerics.BigInteger Rule(long a, long b, long denominator)
    {
        var product = (System.Numerics.BigInteger)a * b;
        var whole = System.Numerics.BigInteger.DivRem(product, denominator, out var remainder);
        var twice = System.Numerics.BigInteger.Abs(remainder) * 2;
        return twice > denominator || (twice == denominator && !whole.IsEven) ? whole + product.Sign : whole;
    }
}
