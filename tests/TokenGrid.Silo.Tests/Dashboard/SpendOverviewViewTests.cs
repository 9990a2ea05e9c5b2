using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Silo.Apis;

namespace TokenGrid.Silo.Tests.Dashboard;

/// <summary>The spend view's arithmetic on its own: revenue rows summed from the month's flows, and percent of cap.</summary>
public sealed class SpendOverviewViewTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Revenue_sums_days_demand_regions_and_directions_per_model_creation_region_and_currency_exactly()
    {
        var day = DateOnly.FromDateTime(Start.UtcDateTime);
        FlowRow Flow(string model, string? demand, string? region, int dayOffset, long prompt, long completion, long due, long discount, long subsidy) =>
            new(day.AddDays(dayOffset), demand, region, model, "USD", 1, prompt, completion,
                new Money(due + discount + subsidy), new Money(discount), new Money(subsidy), new Money(due));

        var rows = RevenueView.Of(
        [
            Flow("demo", "west", "north", 0, 7, 10, 22, 1, 5),
            Flow("demo", null, "north", 1, 0, 5, 10, 0, 0),
            Flow("demo", "west", null, 0, 4, 0, 4, 0, 0),
            Flow("alpha", "east", "south", 2, 1, 0, 1, 0, 0),
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

        var view = TenantSpendView.Of(info, usage, Money.Zero);

        Assert.Equal(percent, (double?)view.PercentOfCap);
        Assert.Equal((new Money(charged).ToString(), usage.SpendCap?.ToString()), (view.SpendCharged, view.SpendCap));
    }
}
