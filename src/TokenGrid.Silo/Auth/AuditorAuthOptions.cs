using TokenGrid.Grains;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The read-only auditor credential (section <see cref="SectionName"/>), for billing and oversight teams: a key that
/// reads the ledger, the rate card and the audit log (and, as they land, statements and flows) and nothing else: no
/// prompts, no outputs, no changes. The admin key is accepted there too.
/// </summary>
public sealed class AuditorAuthOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Auditor";

    /// <summary>
    /// The auditor API key (<c>Authorization: Bearer KEY</c>). Set it with <c>TokenGrid__Auditor__ApiKey</c>; give every
    /// silo the same one. Default: null, meaning no auditor key (only the admin key reads the ledger).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <inheritdoc />
    public string? Validate() => ApiKeyText.Problem(ApiKey, "auditor");
}
