using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Apis;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>The spend view's arithmetic on its own: revenue rows summed from statement lines, and percent of cap.</summary>
public sealed class SpendOverviewViewTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Revenue_sums_directions_and_prices_per_model_region_and_currency_exactly()
    {
        StatementLine Line(string model, TokenDirection direction, string? region, long price, long tokens, long discount, long subsidy) =>
            new(model, direction, region, "USD", new Money(price), tokens, new Money(price * tokens / 1_000_000 + discount + subsidy),
                new Money(discount), new Money(subsidy), new Money(price * tokens / 1_000_000));

        var rows = RevenueView.Of(
        [
            Line("demo", TokenDirection.Completion, "north", 1_500_000, 10, 1, 2),
            Line("demo", TokenDirection.Prompt, "north", 1_000_000, 7, 0, 3),
            Line("demo", TokenDirection.Completion, "north", 2_000_000, 5, 0, 0),
            Line("demo", TokenDirection.Prompt, null, 1_000_000, 4, 0, 0),
            Line("alpha", TokenDirection.Prompt, "south", 1_000_000, 1, 0, 0),
        ]);

        Assert.Equal(
            [
                new RevenueView("alpha", "south", "USD", 1, "0.000001", "0.000000", "0.000000", "0.000001"),
                new RevenueView("demo", null, "USD", 4, "0.000004", "0.000000", "0.000000", "0.000004"),
                new RevenueView("demo", "north", "USD", 22, "0.000038", "0.000001", "0.000005", "0.000032"),
            ],
            rows);
    }

    [Theory]
    [InlineData(null, 5, null)]
    [InlineData("0", 0, null)]
    [InlineData("0.000003", 1, 33.33)]
    [InlineData("0.000003", 2, 66.67)]
    [InlineData("1", 1_250_000, 125.0)]
    public void Percent_of_cap_is_charged_over_cap_to_two_places_and_null_without_a_cap(string? cap, long charged, double? percent)
    {
        var info = new TenantInfo("t", "T", new TenantBudget(), true, Start, Start);
        var usage = new TenantUsage("t", Start, Start.AddMonths(1), 0, 0, 0, 0, 0, [])
        {
            SpendCharged = charged,
            SpendCap = cap is null ? null : Money.TryParse(cap, out var money) ? money : throw new FormatException(cap),
        };

        var view = TenantSpendView.Of(info, usage);

        Assert.Equal(percent, (double?)view.PercentOfCap);
        Assert.Equal((new Money(charged).ToString(), usage.SpendCap?.ToString()), (view.SpendCharged, view.SpendCap));
    }
}
