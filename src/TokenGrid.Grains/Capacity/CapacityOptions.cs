
namespace TokenGrid.Grains.Capacity;

/// <summary>How the capacity view samples the cluster (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Capacity": { "TenantRefreshPeriod": "00:00:30", "DefaultTenantTokensPerMinute": 20000 } }
/// </code>
/// </example>
public sealed class CapacityOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Capacity";

    /// <summary>How often the capacity grain samples the node registry and the dispatchers. Default: 2 seconds.</summary>
    public TimeSpan SamplePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The window over which a model's queued tokens are differenced for its requested tokens per second.
    /// Default: 10 seconds (the nodes' short rate window).
    /// </summary>
    public TimeSpan DemandWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Tenants are checked at most this often, when a report is asked for: one query of the tenants' versions, then one
    /// call per tenant that changed since it was read. Default: 10 seconds.
    /// </summary>
    public TimeSpan TenantRefreshPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The span over which a tenant's recent burn rate is measured, between reads. Default: 5 minutes.</summary>
    public TimeSpan RecentBurnWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The span latency percentiles cover. Default: 1 minute.</summary>
    public TimeSpan LatencyWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each silo sends its latency histograms. Default: 2 seconds.</summary>
    public TimeSpan LatencyReportPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The tenant size, in tokens per minute, that "how many more tenants" is counted in when the request names none.
    /// Default: 10,000 (a tenant that sustains about 167 tokens per second).
    /// </summary>
    public long DefaultTenantTokensPerMinute { get; set; } = 10_000;

    /// <summary>Tenants listed by usage when the request names no count. Default: 10.</summary>
    public int DefaultTop { get; set; } = 10;

    /// <summary>Most tenants a request may ask to list. Default: 100.</summary>
    public int MaxTop { get; set; } = 100;

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        SamplePeriod <= TimeSpan.Zero ? "the sample period must be positive."
        : DemandWindow < SamplePeriod ? "the demand window must be at least the sample period."
        : TenantRefreshPeriod <= TimeSpan.Zero ? "the tenant refresh period must be positive."
        : RecentBurnWindow < TenantRefreshPeriod ? "the recent burn window must be at least the tenant refresh period."
        : LatencyWindow < TimeSpan.FromSeconds(10) ? "the latency window must be at least 10 seconds."
        : LatencyReportPeriod <= TimeSpan.Zero ? "the latency report period must be positive."
        : DefaultTenantTokensPerMinute < 1 ? "the default tenant tokens per minute must be at least 1."
        : MaxTop < 1 || DefaultTop < 1 || DefaultTop > MaxTop ? "top counts must be positive and the default at most the maximum."
        : null;
}
