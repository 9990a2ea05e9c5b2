namespace TokenGrid.Grains.Audit;

/// <summary>The actions the audit log records (<see cref="AuditChange.Action"/>), and their fixed targets.</summary>
public static class AuditActions
{
    /// <summary>A tenant was created (target: its id; before: null).</summary>
    public const string TenantCreate = "tenant.create";

    /// <summary>A tenant's name, budget or enabled flag changed (<c>PUT</c> or <c>PATCH</c>; target: its id).</summary>
    public const string TenantUpdate = "tenant.update";

    /// <summary>A tenant was deleted: its content, and its keys revoked (target: its id).</summary>
    public const string TenantDelete = "tenant.delete";

    /// <summary>A tenant key was issued (target: the key's id; before: null; the secret is never recorded).</summary>
    public const string KeyIssue = "key.issue";

    /// <summary>A tenant key was revoked (target: the key's id).</summary>
    public const string KeyRevoke = "key.revoke";

    /// <summary>A rate card version was published (target: <see cref="RateCard"/>; before: the latest version, or null).</summary>
    public const string PricesPublish = "prices.publish";

    /// <summary>A subsidy program was created or changed (target: its id; before: null when it was created).</summary>
    public const string SubsidyPut = "subsidy.put";

    /// <summary>A node was drained (target: the node id).</summary>
    public const string NodeDrain = "node.drain";

    /// <summary>A node was resumed after a drain (target: the node id).</summary>
    public const string NodeResume = "node.resume";

    /// <summary>
    /// A billing period was closed (target: the period, <c>yyyy-MM</c>; before: the earlier close when it was closed
    /// already, else null).
    /// </summary>
    public const string PeriodClose = "period.close";

    /// <summary>The target of rate card changes.</summary>
    public const string RateCard = "rate-card";
}
