namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A bucket of <c>capacity</c> tokens refilled evenly over one minute, in exact integer arithmetic so that waiting
/// exactly <see cref="TimeUntil"/> always suffices. The level is kept as whole tokens plus a fraction counted in
/// 1/<see cref="TimeSpan.TicksPerMinute"/> of a token: refilling for one tick adds <c>capacity</c> such units.
/// </summary>
[GenerateSerializer, Alias("tg.TokenBucket")]
public sealed class TokenBucket
{
    private const long UnitsPerToken = TimeSpan.TicksPerMinute;

    /// <summary>Whole tokens in the bucket.</summary>
    [Id(0)] public long Whole { get; set; }

    /// <summary>The fraction of the next token, in 1/<see cref="TimeSpan.TicksPerMinute"/> tokens.</summary>
    [Id(1)] public long Fraction { get; set; }

    /// <summary>When the level was last brought up to date.</summary>
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>A full bucket as of <paramref name="now"/>.</summary>
    public static TokenBucket Full(long capacity, DateTimeOffset now) => new() { Whole = capacity, UpdatedAt = now };

    /// <summary>Adds what flowed in since the last update. A clock that went back refills nothing.</summary>
    public void Refill(long capacity, DateTimeOffset now)
    {
        if (now <= UpdatedAt)
        {
            return;
        }

        SetUnits(UnitsAt(capacity, now));
        UpdatedAt = now;
    }

    /// <summary>Whole tokens available at <paramref name="now"/>, without changing the bucket.</summary>
    public long AvailableAt(long capacity, DateTimeOffset now) => (long)(UnitsAt(capacity, now) / UnitsPerToken);

    /// <summary>How long until the bucket holds <paramref name="tokens"/> (zero when it already does).</summary>
    public TimeSpan TimeUntil(long tokens, long capacity, DateTimeOffset now)
    {
        var missing = ((Int128)tokens * UnitsPerToken) - UnitsAt(capacity, now);
        if (missing <= 0)
        {
            return TimeSpan.Zero;
        }

        // Each tick adds `capacity` units; round up so the wait is always enough.
        return TimeSpan.FromTicks((long)((missing + capacity - 1) / capacity));
    }

    /// <summary>Takes <paramref name="tokens"/>; the caller has refilled and checked the level.</summary>
    public void Take(long tokens)
    {
        var units = Units - ((Int128)tokens * UnitsPerToken);
        if (units < 0)
        {
            throw new InvalidOperationException($"The bucket holds fewer than {tokens} tokens.");
        }

        SetUnits(units);
    }

    /// <summary>Gives tokens back, never above capacity.</summary>
    public void Give(long tokens, long capacity) =>
        SetUnits(Int128.Min(Units + ((Int128)tokens * UnitsPerToken), (Int128)capacity * UnitsPerToken));

    /// <summary>Lowers the level to a new, smaller capacity; a larger capacity keeps the level.</summary>
    public void Clamp(long capacity) => SetUnits(Int128.Min(Units, (Int128)capacity * UnitsPerToken));

    private Int128 Units => ((Int128)Whole * UnitsPerToken) + Fraction;

    private Int128 UnitsAt(long capacity, DateTimeOffset now)
    {
        var elapsed = Math.Max(0, (now - UpdatedAt).Ticks);
        return Int128.Min(Units + ((Int128)elapsed * capacity), (Int128)capacity * UnitsPerToken);
    }

    private void SetUnits(Int128 units)
    {
        Whole = (long)(units / UnitsPerToken);
        Fraction = (long)(units % UnitsPerToken);
    }
}
