using TokenGrid.Silo.Options;

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

    /// <summary>
    /// How many wrong keys one client address may post to the dashboard's sign-in form in each minute; beyond it every
    /// sign-in from the address is 429 with <c>Retry-After</c> until the minute is over, the right key's included. Counted per silo and per address as the silo sees it (behind a proxy that does not pass the
    /// client's address on, every browser shares the proxy's). Default: 10.
    /// </summary>
    public int FailedSignInsPerMinute { get; set; } = 10;

    /// <inheritdoc />
    public string? Validate() =>
        ApiKeyText.Problem(ApiKey, "planner") is { } key ? key
        : SessionLifetime <= TimeSpan.Zero ? "the session lifetime must be positive."
        : FailedSignInsPerMinute is < 1 or > 10_000 ? "FailedSignInsPerMinute must be from 1 to 10000."
        : null;
}
