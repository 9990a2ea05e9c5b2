using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Apis;

namespace TokenGrid.Silo.Options;

/// <summary>The demo tenant created at every start (section <see cref="SectionName"/>).</summary>
public sealed class DemoOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Demo";

    /// <summary>Whether to create the demo tenant and print its key. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The demo tenant's id. Default: <c>demo</c>.</summary>
    public string TenantId { get; set; } = "demo";

    /// <summary>
    /// The demo tenant's API key, so scripts can rely on it (<c>TokenGrid__Demo__ApiKey</c>). It is stored only as a
    /// hash. Default: null, meaning a random key issued at each start and printed.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The demo tenant's budget. Default: <see cref="TenantBudget"/>'s defaults.</summary>
    public TenantBudget Budget { get; set; } = new();

    /// <inheritdoc />
    public string? Validate() =>
        !Enabled ? null
        : !TenantIds.IsValid(TenantId) ? $"tenant id: {TenantIds.Rule}"
        : ApiKeyText.Problem(ApiKey, "demo") is { } key ? key
        : Budget.Validate();
}
