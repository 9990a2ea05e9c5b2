using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>Quota period boundaries, in UTC: days start at 00:00, months on the 1st at 00:00.</summary>
public static class QuotaPeriods
{
    /// <summary>The start of the period that contains <paramref name="now"/>.</summary>
    public static DateTimeOffset StartOf(QuotaPeriod period, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        return period switch
        {
            QuotaPeriod.Daily => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            QuotaPeriod.Monthly => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, "Unknown quota period."),
        };
    }

    /// <summary>The end (exclusive) of the period that starts at <paramref name="start"/>.</summary>
    public static DateTimeOffset EndOf(QuotaPeriod period, DateTimeOffset start) => period switch
    {
        QuotaPeriod.Daily => start.AddDays(1),
        QuotaPeriod.Monthly => start.AddMonths(1),
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, "Unknown quota period."),
    };
}
