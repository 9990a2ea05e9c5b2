namespace TokenGrid.Grains;

/// <summary>Names of the grain storage providers TokenGrid's grains use; each profile registers them.</summary>
public static class TokenGridStorage
{
    /// <summary>Tenants, API keys, jobs and the directories.</summary>
    public const string Name = "tokengrid";
}
