namespace TokenGrid.Grains.Audit;

/// <summary>An admin action to record: who did what to which resource, and its value before and after.</summary>
/// <param name="At">When the action took effect.</param>
/// <param name="Actor">The acting credential's id (<c>admin:1a2b3c4d5e6f</c>); never a key's secret.</param>
/// <param name="Action">What was done, <c>resource.verb</c> (<c>tenant.update</c>, <c>key.revoke</c>, <c>node.drain</c>).</param>
/// <param name="Target">The resource acted on: a tenant, key or node id, or <c>rate-card</c>.</param>
/// <param name="Before">The resource as the admin API showed it before, as a JSON document; null when it did not exist.</param>
/// <param name="After">The resource as the admin API shows it after, as a JSON document; null when there is none.</param>
public sealed record AuditChange(DateTimeOffset At, string Actor, string Action, string Target, string? Before, string? After);

/// <summary>A recorded <see cref="AuditChange"/> and its place in the log.</summary>
/// <param name="Sequence">Assigned by the log: increasing in the order entries were appended (there may be gaps).</param>
/// <param name="Change">What was recorded.</param>
public sealed record AuditEntry(long Sequence, AuditChange Change);

/// <summary>Which entries to read: those after <paramref name="After"/>, oldest first.</summary>
/// <param name="After">Only entries with a greater sequence (0: from the start).</param>
/// <param name="Limit">At most this many entries (at least 1).</param>
/// <param name="Action">Only entries of this action; null: any.</param>
/// <param name="Target">Only entries on this target; null: any.</param>
public sealed record AuditQuery(long After, int Limit, string? Action = null, string? Target = null);

/// <summary>A page of the audit log, oldest first.</summary>
/// <param name="Entries">The entries.</param>
/// <param name="NextAfter">The last sequence of the page when more entries match, otherwise null.</param>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? NextAfter);

/// <summary>
/// The append-only log of admin actions (budget, price and plan changes, key issue and revoke, drain and resume, period
/// close), read by the auditor. Entries are never changed or removed.
/// </summary>
public interface IAuditLog
{
    /// <summary>Appends <paramref name="change"/>; returns it with the sequence the log gave it.</summary>
    Task<AuditEntry> AppendAsync(AuditChange change, CancellationToken cancellationToken = default);

    /// <summary>The entries that match <paramref name="query"/>, oldest first.</summary>
    Task<AuditPage> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default);
}
