using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

public sealed class QuotaPeriodsTests
{
    [Theory]
    [InlineData("2026-03-14T23:59:59.9999999+00:00", QuotaPeriod.Daily, "2026-03-14T00:00:00+00:00", "2026-03-15T00:00:00+00:00")]
    [InlineData("2026-03-15T00:00:00+00:00", QuotaPeriod.Daily, "2026-03-15T00:00:00+00:00", "2026-03-16T00:00:00+00:00")]
    [InlineData("2026-03-15T01:30:00+05:00", QuotaPeriod.Daily, "2026-03-14T00:00:00+00:00", "2026-03-15T00:00:00+00:00")]
    [InlineData("2026-12-31T12:00:00+00:00", QuotaPeriod.Monthly, "2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")]
    [InlineData("2028-02-29T12:00:00+00:00", QuotaPeriod.Monthly, "2028-02-01T00:00:00+00:00", "2028-03-01T00:00:00+00:00")]
    public void Periods_start_and_end_at_utc_boundaries(string now, QuotaPeriod period, string start, string end)
    {
        var periodStart = QuotaPeriods.StartOf(period, DateTimeOffset.Parse(now, null));
        Assert.Equal(DateTimeOffset.Parse(start, null), periodStart);
        Assert.Equal(TimeSpan.Zero, periodStart.Offset);
        Assert.Equal(DateTimeOffset.Parse(end, null), QuotaPeriods.EndOf(period, periodStart));
    }
}
