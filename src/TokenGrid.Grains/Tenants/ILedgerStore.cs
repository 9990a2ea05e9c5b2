using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Where tenants' ledger lines are kept, per tenant, in sequence order. The tenant grain numbers lines 1, 2, 3, …
/// and may hand the same lines over more than once (see <c>TenantGrain.CommitAsync</c>), so appends are idempotent:
/// a line whose sequence is at or below the tenant's last stored one is skipped. A hole in the sequence numbers
/// therefore always means lines were lost (for example an in-memory store that restarted under a durable state).
/// </summary>
public interface ILedgerStore
{
    /// <summary>Appends <paramref name="entries"/> (ascending sequences); entries at or below the last stored sequence are ignored.</summary>
    Task AppendAsync(string tenantId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> entries with sequence greater than <paramref name="afterSequence"/>, oldest first;
    /// <see cref="LedgerPage.NextAfter"/> is the last sequence returned when more follow, otherwise null.
    /// </summary>
    Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>Every entry of one job, in sequence order (empty when the job has none).</summary>
    Task<IReadOnlyList<LedgerEntry>> FindJobAsync(string tenantId, string jobId, CancellationToken cancellationToken = default);
}
