using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Which prefix cache scope a tenant's jobs use. By default each tenant has its own: a prompt is only ever matched
/// against blocks cached for the same tenant, so no tenant can learn from time to first token that another sent a
/// prompt (the side channel vLLM's <c>cache_salt</c> closes). A tenant may opt into a named shared scope, for a public
/// system prompt say; every tenant opting into the same name shares it, and accepts that side channel among them.
/// </summary>
public static class PrefixCacheScopes
{
    /// <summary>The scope of <paramref name="tenantId"/>'s jobs, given the shared scope it opted into (null: none).</summary>
    public static string For(string tenantId, string? shared) => shared is null ? $"tenant:{tenantId}" : $"shared:{shared}";

    /// <summary>The scope a job runs in: its admission's, or its tenant's own when the admission predates scopes.</summary>
    public static string Of(string tenantId, AdmissionResult? admission) => admission?.PrefixCacheScope ?? For(tenantId, null);
}
