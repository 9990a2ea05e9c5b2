using TokenGrid.Grains;

namespace TokenGrid.Silo.Billing;

/// <summary>
/// Where tenants' spend webhooks may post (section <see cref="SectionName"/>); see docs/billing.md, Spend webhooks.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Billing": { "Webhooks": { "AllowHttp": false, "AllowPrivateNetworks": false, "Timeout": "00:00:05" } } }
/// </code>
/// </example>
public sealed class SpendWebhookOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Billing:Webhooks";

    /// <summary>Whether a webhook URL may be plain <c>http</c> rather than <c>https</c>. Default: false.</summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Whether a post may reach loopback, private (RFC 1918, unique local), link-local or unspecified addresses. Off, a
    /// tenant cannot make the grid post into its own network: the address is checked as the connection is made, after
    /// DNS, so a name that later resolves inside is refused too. Default: false.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>How long one post may take before it counts as failed (and is tried again later). Default: 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public string? Validate() =>
        Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(1) ? "the webhook timeout must be between 0 and 1 minute." : null;
}
