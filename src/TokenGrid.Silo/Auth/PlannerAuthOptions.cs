
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

    /// <summary>
    /// Whether the dashboard's session cookie is always marked <c>Secure</c>. False: only when the silo itself sees the
    /// request over HTTPS, so behind a proxy or ingress that terminates TLS and forwards plain HTTP it never is; set it
    /// there (the kubernetes profile does), so the browser sends the cookie over HTTPS only. A browser then keeps no
    /// session opened over plain HTTP except on localhost. Default: false.
    /// </summary>
    public bool SecureCookie { get; set; }

    /// <inheritdoc />
    public string? Validate() =>
        ApiKey is { Length: < 16 } ? "the planner API key must be at least 16 characters."
        : SessionLifetime <= TimeSpan.Zero ? "the session lifetime must be positive."
        : null;
}
