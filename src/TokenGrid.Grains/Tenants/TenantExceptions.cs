namespace TokenGrid.Grains.Tenants;

/// <summary>The tenant does not exist (HTTP 404). Thrown by tenant operations other than admission and settlement.</summary>
[GenerateSerializer, Alias("tg.TenantNotFoundException")]
public sealed class TenantNotFoundException(string tenantId)
    : KeyNotFoundException($"Tenant '{tenantId}' does not exist.")
{
    /// <summary>The tenant asked for.</summary>
    [Id(0)] public string TenantId { get; } = tenantId;
}

/// <summary>A tenant with this id already exists (HTTP 409). Thrown by <c>CreateAsync</c>.</summary>
[GenerateSerializer, Alias("tg.TenantExistsException")]
public sealed class TenantExistsException(string tenantId)
    : InvalidOperationException("tenant exists")
{
    /// <summary>The tenant id that is taken.</summary>
    [Id(0)] public string TenantId { get; } = tenantId;
}

/// <summary>
/// The job id was already admitted and settled by this tenant (HTTP 409): a new job needs a new id. Thrown by
/// <c>AdmitAsync</c>, which never reserves twice for one job id.
/// </summary>
[GenerateSerializer, Alias("tg.JobAlreadySettledException")]
public sealed class JobAlreadySettledException(string tenantId, string jobId)
    : InvalidOperationException($"Job '{jobId}' of tenant '{tenantId}' was already admitted and settled; submit a new job id.")
{
    /// <summary>The tenant.</summary>
    [Id(0)] public string TenantId { get; } = tenantId;

    /// <summary>The job id that was reused.</summary>
    [Id(1)] public string JobId { get; } = jobId;
}

/// <summary>
/// The tenant was deleted (HTTP 409): it cannot be enabled again, changed or given keys; its ledger stays readable.
/// Thrown by <c>UpdateAsync</c> and <c>IssueKeyAsync</c>.
/// </summary>
[GenerateSerializer, Alias("tg.TenantDeletedException")]
public sealed class TenantDeletedException(string tenantId, DateTimeOffset deletedAt)
    : InvalidOperationException($"Tenant '{tenantId}' was deleted at {deletedAt:O}; it cannot be changed, enabled or given keys.")
{
    /// <summary>The tenant.</summary>
    [Id(0)] public string TenantId { get; } = tenantId;
}
