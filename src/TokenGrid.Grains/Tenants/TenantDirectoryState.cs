namespace TokenGrid.Grains.Tenants;

/// <summary>What the tenant directory persists.</summary>
[GenerateSerializer, Alias("tg.TenantDirectoryState")]
public sealed class TenantDirectoryState
{
    /// <summary>Tenant ids in ordinal order, without duplicates.</summary>
    [Id(0)] public List<string> TenantIds { get; set; } = [];
}
