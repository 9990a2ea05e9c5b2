namespace TokenGrid.Silo.Options;

/// <summary>The admin API's credentials (section <see cref="SectionName"/>).</summary>
public sealed class AdminOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Admin";

    /// <summary>
    /// The admin API key (<c>Authorization: Bearer KEY</c> on <c>/admin</c>). Set it with <c>TokenGrid__Admin__ApiKey</c>.
    /// Default: null, meaning a random key made at each start and printed.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <inheritdoc />
    public string? Validate() =>
        ApiKeyText.Problem(ApiKey, "admin");
}
