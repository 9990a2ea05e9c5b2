namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// Which tenants get series of their own (section <see cref="SectionName"/>): those listed in <see cref="Tenants"/>,
/// the <see cref="TopN"/> others with the most tokens charged this period, and up to <see cref="NearLimit"/> more that
/// are near their quota or spend cap (less than 20 % of the quota left, or half the cap spent), for the alerts. Every other tenant's usage stays exact
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
    /// How many tenants near their quota (less than 20 % of it left) or their spend cap (at least 50 % of it spent),
    /// besides the listed and top N ones, get series, the closest to a limit first; 0 turns this off. Default: 20.
    /// </summary>
    public int NearLimit { get; set; } = 20;

    /// <summary>
    /// A tenant whose budget has not changed on this silo for this long loses its series (its grain has likely moved or
    /// been collected; the silo that hosts it next publishes it again). Default: 15 minutes.
    /// </summary>
    public TimeSpan IdleLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        TopN is < 0 or > 1000 ? "tenant series top N must be between 0 and 1000."
        : NearLimit is < 0 or > 1000 ? "tenant series near limit must be between 0 and 1000."
        : Tenants.Count > 1000 ? "at most 1000 tenants may be listed for tenant series."
        : Tenants.Any(string.IsNullOrWhiteSpace) ? "listed tenant ids must not be empty."
        : IdleLifetime <= TimeSpan.Zero ? "the tenant series idle lifetime must be positive."
        : null;
}
