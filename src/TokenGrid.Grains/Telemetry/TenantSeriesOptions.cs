namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// Which tenants get series of their own (section <see cref="SectionName"/>): those listed in <see cref="Tenants"/>,
/// and the <see cref="TopN"/> others with the most tokens charged this period. Every other tenant's usage stays exact
/// in the ledger and the usage API; the metrics only keep label cardinality bounded. Each silo applies the rule to the
/// tenant grains it hosts.
/// </summary>
public sealed class TenantSeriesOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "TokenGrid:Telemetry:TenantSeries";

    /// <summary>Tenant ids that always get series while their grain is active on the silo. Default: none.</summary>
    public List<string> Tenants { get; set; } = [];

    /// <summary>How many other tenants, the heaviest users by tokens charged this period, get series. Default: 10.</summary>
    public int TopN { get; set; } = 10;

    /// <summary>
    /// A tenant whose budget has not changed on this silo for this long loses its series (its grain has likely moved or
    /// been collected; the silo that hosts it next publishes it again). Default: 15 minutes.
    /// </summary>
    public TimeSpan IdleLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        TopN is < 0 or > 1000 ? "tenant series top N must be between 0 and 1000."
        : Tenants.Count > 1000 ? "at most 1000 tenants may be listed for tenant series."
        : Tenants.Any(string.IsNullOrWhiteSpace) ? "listed tenant ids must not be empty."
        : IdleLifetime <= TimeSpan.Zero ? "the tenant series idle lifetime must be positive."
        : null;
}
