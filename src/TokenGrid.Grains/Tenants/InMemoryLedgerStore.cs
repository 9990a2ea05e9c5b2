using System.Collections.Concurrent;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>A process-local <see cref="ILedgerStore"/> for development and tests; lost on restart.</summary>
public sealed class InMemoryLedgerStore : ILedgerStore
{
    private readonly ConcurrentDictionary<string, List<LedgerEntry>> _ledgers = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task AppendAsync(string tenantId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ledger = _ledgers.GetOrAdd(tenantId, _ => []);
        lock (ledger)
        {
            foreach (var entry in entries)
            {
                if (ledger.Count == 0 || entry.Sequence > ledger[^1].Sequence)
                {
                    ledger.Add(entry);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<LedgerPage> ReadAsync(string tenantId, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (!_ledgers.TryGetValue(tenantId, out var ledger))
        {
            return Task.FromResult(new LedgerPage([], null));
        }

        lock (ledger)
        {
            var start = FirstAfter(ledger, afterSequence);
            var page = ledger.GetRange(start, Math.Min(limit, ledger.Count - start));
            long? next = start + page.Count < ledger.Count ? page[^1].Sequence : null;
            return Task.FromResult(new LedgerPage(page, next));
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<LedgerEntry>> FindJobAsync(string tenantId, string jobId, CancellationToken cancellationToken = default)
    {
        if (!_ledgers.TryGetValue(tenantId, out var ledger))
        {
            return Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
        }

        lock (ledger)
        {
            return Task.FromResult<IReadOnlyList<LedgerEntry>>([.. ledger.Where(e => e.JobId == jobId)]);
        }
    }

    // Sequences ascend, so binary search for the first entry past afterSequence.
    private static int FirstAfter(List<LedgerEntry> ledger, long afterSequence)
    {
        int low = 0, high = ledger.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (ledger[mid].Sequence <= afterSequence)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }
}
