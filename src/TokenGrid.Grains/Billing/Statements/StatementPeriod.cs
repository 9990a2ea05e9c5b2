using System.Globalization;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>
/// A statement's period: one calendar month in UTC, written <c>yyyy-MM</c> ("2026-12"). A charge belongs to the month
/// its ledger line's time falls in: from the first instant of the month, up to but not including the next month's.
/// </summary>
public readonly record struct StatementPeriod
{
    private StatementPeriod(int year, int month)
    {
        Year = year;
        Month = month;
    }

    /// <summary>The year (1–9998).</summary>
    public int Year { get; }

    /// <summary>The month (1–12).</summary>
    public int Month { get; }

    /// <summary>The first instant of the month, UTC.</summary>
    public DateTimeOffset Start => new(Year, Month, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The first instant of the next month, UTC: the period ends just before it.</summary>
    public DateTimeOffset End => Start.AddMonths(1);

    /// <summary>The month <paramref name="at"/> falls in, in UTC.</summary>
    public static StatementPeriod Of(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new StatementPeriod(utc.Year, utc.Month);
    }

    /// <summary>
    /// Parses exactly <c>yyyy-MM</c> (four digits, a hyphen, two digits, month 01–12), from 0001-01 to 9998-12; anything
    /// else is refused. 9999-12 is refused because its end, the first instant of year 10000, is past what a
    /// <see cref="DateTimeOffset"/> holds.
    /// </summary>
    public static bool TryParse(string? text, out StatementPeriod period)
    {
        period = default;
        if (text is not { Length: 7 } || text[4] != '-'
            || !int.TryParse(text.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            || !int.TryParse(text.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var month)
            || year is < 1 or > 9998 || month is < 1 or > 12)
        {
            return false;
        }

        period = new StatementPeriod(year, month);
        return true;
    }

    /// <summary>Whether the month is over at <paramref name="now"/>.</summary>
    public bool HasEnded(DateTimeOffset now) => now >= End;

    /// <summary>The period as <c>yyyy-MM</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}");
}
