using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>An in-memory ledger whose appends fail for the tenants a test names.</summary>
public sealed class FlakyLedgerStore : ILedgerStore
{
    private readonly InMemoryLedgerStore _inner = new();
    private readonly HashSet<string> _failing = [];

    /// <summary>Makes appends for <paramref name="tenantId"/> fail, or work again.</summary>
    public void SetFailing(string tenantId, bool failing)
    {
        lock (_failing)
        {
            _ = failing ? _failing.Add(tenantId) : _failing.Remove(tenantId);
        }
    }

    public Task AppendAsync(string tenantId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default)
    {
        lock (_failing)
        {
            if (_failing.Contains(tenantId))
            {
                throw new IOException("The ledger store is unavailable.");
            }
        }

        return _inner.AppendAsync(tenantId, entries, cancellationToken);
    }

    public Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(tenantId, afterSequence, limit, cancellationToken);

    public Task<IReadOnlyList<LedgerEntry>> FindJobAsync(string tenantId, string jobId, CancellationToken cancellationToken = default) =>
        _inner.FindJobAsync(tenantId, jobId, cancellationToken);
}
