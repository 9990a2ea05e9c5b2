namespace TokenGrid.Grains;

/// <summary>Names of the grain storage providers TokenGrid's grains use; each profile registers them.</summary>
public static class TokenGridStorage
{
    /// <summary>API keys, jobs, nodes and the directories (tenants keep theirs in an <c>ITenantStore</c>).</summary>
    public const string Name = "tokengrid";
}
