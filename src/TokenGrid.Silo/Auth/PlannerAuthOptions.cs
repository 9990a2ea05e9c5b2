
namespace TokenGrid.Silo.Auth;

/// <summary>
/// The read-only planner credential (section <see cref="SectionName"/>): a key accepted on <c>GET /v1/capacity</c>,
/// <c>/dashboard</c> and the Orleans Dashboard, and nowhere else. The admin key is accepted there too.
/// </summary>
public sealed class PlannerAuthOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Planner";

    /// <summary>
    /// The planner API key (<c>Authorization: Bearer KEY</c>, or typed into the dashboard's sign-in form). Set it with
    /// <c>TokenGrid__Planner__ApiKey</c>; give every silo the same one. Default: null, meaning no planner key (only the
    /// admin key opens the capacity view).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>How long a dashboard sign-in lasts before the key is asked for again. Default: 8 hours.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <inheritdoc />
    public string? Validate() =>
        ApiKey is { Length: < 16 } ? "the planner API key must be at least 16 characters."
        : SessionLifetime <= TimeSpan.Zero ? "the session lifetime must be positive."
        : null;
}
