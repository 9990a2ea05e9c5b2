using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Ledger;

/// <summary>
/// The read side of tenants' ledgers, per tenant, in sequence order. The tenant grain numbers lines 1, 2, 3, … and
/// the <see cref="ITenantStore"/> writes them in the same save as the state change they record, so the sequence has
/// no hole and no line twice.
/// </summary>
public interface ILedgerStore
{
    /// <summary>
    /// Up to <paramref name="limit"/> entries with sequence greater than <paramref name="afterSequence"/>, oldest first;
    /// <see cref="LedgerPage.NextAfter"/> is the last sequence returned when more follow, otherwise null.
    /// </summary>
    Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>Every entry of one job, in sequence order (empty when the job has none).</summary>
    Task<IReadOnlyList<LedgerEntry>> FindJobAsync(string tenantId, string jobId, CancellationToken cancellationToken = default);
}
