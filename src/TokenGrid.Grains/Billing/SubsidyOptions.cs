namespace TokenGrid.Grains.Billing;

/// <summary>
/// How subsidy programs repair reservations whose admission was lost (section <see cref="SectionName"/>); see
/// docs/billing.md, Subsidy programs.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Subsidies": { "ReservationTimeout": "00:05:00", "RepairPeriod": "00:01:00" } }
/// </code>
/// </example>
public sealed class SubsidyOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Subsidies";

    /// <summary>
    /// A reservation open this long is checked with its tenant: when the tenant never saved the job's admission (its
    /// silo died between the program's reservation and its own save), the program releases it. Longer than any
    /// admission takes; jobs that run longer are not affected, as their tenant holds them. Default: 5 minutes.
    /// </summary>
    public TimeSpan ReservationTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// While a program has open reservations, a reminder (which outlives any silo) checks them this often. At least
    /// Orleans' minimum reminder period (1 minute unless the silo lowers it). Default: 1 minute.
    /// </summary>
    public TimeSpan RepairPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        ReservationTimeout <= TimeSpan.Zero ? "the reservation timeout must be positive."
        : RepairPeriod < TimeSpan.FromSeconds(1) ? "the repair period must be at least one second."
        : null;
}
