namespace TokenGrid.Grains.Audit;

/// <summary>
/// Records an admin change in the <see cref="IAuditLog"/> from the grain that made it, within the grain's turn: the
/// next change of the same resource waits for it, so a resource's entries are appended in the order its changes were
/// made and each entry's <c>before</c> is the previous entry's <c>after</c>. The host implements it, as it shows the
/// resource the way its admin API does.
/// </summary>
public interface IAuditRecorder
{
    /// <summary>
    /// Appends <paramref name="action"/> on <paramref name="target"/> by <paramref name="actor"/>, with the resource
    /// before and after the change as the grain holds it (null where there is none).
    /// </summary>
    /// <exception cref="ChangeNotAuditedException">The log refused or failed (the implementation logs why).</exception>
    Task RecordAsync(string actor, string action, string target, object? before, object? after);
}

/// <summary>
/// An admin change was made (and saved) but the audit log could not record it (HTTP 503 <c>change_not_audited</c>):
/// the caller must not repeat it.
/// </summary>
[GenerateSerializer, Alias("tg.ChangeNotAuditedException")]
public sealed class ChangeNotAuditedException(string action, string target)
    : InvalidOperationException($"The change ({action} of '{target}') was made, but the audit log could not record it; do not repeat it. The server's log has the error.")
{
    /// <summary>What was done (<see cref="AuditChange.Action"/>).</summary>
    [Id(0)] public string Action { get; } = action;

    /// <summary>The resource changed.</summary>
    [Id(1)] public string Target { get; } = target;
}
