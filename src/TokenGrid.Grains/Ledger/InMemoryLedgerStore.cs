using System.Collections.Concurrent;
using System.Text;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Ledger;

/// <summary>
/// A process-local <see cref="ILedgerStore"/> for development and tests; lost on restart. Lines are kept as bytes
/// (<see cref="LedgerLog"/>), not objects: the ledger is never deleted, so it must cost little memory and no
/// garbage-collection work per line.
/// </summary>
public sealed class InMemoryLedgerStore : ILedgerStore
{
    private readonly ConcurrentDictionary<string, TenantLedger> _ledgers = new(StringComparer.Ordinal);

    /// <summary>
    /// Appends <paramref name="entries"/>, all or none: they must continue the tenant's sequence with no gap (the
    /// tenant store saves each line once, with the state change it records), and a job id reserves once, ever.
    /// </summary>
    /// <exception cref="InvalidOperationException">A line breaks either rule; nothing was appended.</exception>
    public void Append(string tenantId, IReadOnlyList<LedgerEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var ledger = _ledgers.GetOrAdd(tenantId, _ => new TenantLedger());
        lock (ledger)
        {
            var last = ledger.Lines.LastSequence;
            var reserved = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (entry.Sequence != ++last)
                {
                    throw new InvalidOperationException($"Ledger line {entry.Sequence} of tenant '{tenantId}' does not follow line {last - 1}.");
                }

                var directions = entry.Kind == LedgerEntryKind.Charge ? entry.Tokens : 0;
                if (entry.PromptTokens < 0 || entry.CompletionTokens < 0 || entry.PromptTokens + entry.CompletionTokens != directions)
                {
                    throw new InvalidOperationException(
                        $"Ledger line {entry.Sequence} of tenant '{tenantId}' splits its tokens into prompt and completion wrongly (only a charge splits, exactly).");
                }

                if (entry.CachedPromptTokens < 0 || entry.CachedPromptTokens > entry.PromptTokens)
                {
                    throw new InvalidOperationException(
                        $"Ledger line {entry.Sequence} of tenant '{tenantId}' records more cached prompt tokens than prompt tokens, or fewer than none.");
                }

                if (PricingError(entry) is { } error)
                {
                    throw new InvalidOperationException($"Ledger line {entry.Sequence} of tenant '{tenantId}' {error}.");
                }

                if (entry.Kind == LedgerEntryKind.Reserve && (ledger.ReservedJobs.ContainsKey(entry.JobId) || !reserved.Add(entry.JobId)))
                {
                    throw new InvalidOperationException($"Job '{entry.JobId}' of tenant '{tenantId}' already has a reserve line.");
                }
            }

            foreach (var entry in entries)
            {
                if (entry.Kind == LedgerEntryKind.Reserve)
                {
                    ledger.ReservedJobs.Add(entry.JobId, ledger.Lines.Count);
                }

                ledger.Lines.Add(entry);
            }
        }
    }

    /// <summary>The ids of every tenant with a ledger line.</summary>
    public IReadOnlyList<string> TenantIds() => [.. _ledgers.Keys];

    /// <summary>A copy of the tenant's lines, in sequence order (empty when it has none).</summary>
    public IReadOnlyList<LedgerEntry> Lines(string tenantId)
    {
        if (!_ledgers.TryGetValue(tenantId, out var ledger))
        {
            return [];
        }

        lock (ledger)
        {
            return ledger.Lines.Range(0, ledger.Lines.Count);
        }
    }

    /// <summary>
    /// Why a line's money is wrong, or null: only a charge is priced, and each priced direction splits its list amount
    /// exactly (<c>list = discount + subsidy + tenant</c>) as tokengrid_charges' checks demand.
    /// </summary>
    private static string? PricingError(LedgerEntry entry)
    {
        if (entry.Priced is not { } priced)
        {
            return null;
        }

        if (entry.Kind != LedgerEntryKind.Charge)
        {
            return "is priced but is not a charge";
        }

        var lines = priced.Lines;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.Tokens < 0 || line.List < Money.Zero || line.Subsidy < Money.Zero || line.Tenant < Money.Zero)
            {
                return $"has a negative {line.Direction} amount";
            }

            if (line.List != line.Discount + line.Subsidy + line.Tenant)
            {
                return $"does not split its {line.Direction} list amount exactly (list = discount + subsidy + tenant)";
            }
        }

        // Pairwise over a charge's two lines rather than a grouping query: every priced settlement is checked.
        for (var i = 1; i < lines.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (lines[j].Direction == lines[i].Direction)
                {
                    return "prices a direction twice";
                }
            }
        }

        return null;
    }

    /// <summary>Whether the tenant's ledger holds a reserve line for <paramref name="jobId"/>.</summary>
    public bool HasReserve(string tenantId, string jobId)
    {
        if (!_ledgers.TryGetValue(tenantId, out var ledger))
        {
            return false;
        }

        lock (ledger)
        {
            return ledger.ReservedJobs.ContainsKey(jobId);
        }
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
            var lines = ledger.Lines;

            // Sequences run 1, 2, 3, … with no gap (Append checks), so the line after afterSequence is at that index.
            var start = (int)Math.Clamp(afterSequence, 0, lines.Count);
            var page = lines.Range(start, Math.Min(limit, lines.Count - start));
            long? next = start + page.Count < lines.Count ? page[^1].Sequence : null;
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
            // An admitted job's lines all follow its reserve line; any other id is looked for in every line.
            var found = new List<LedgerEntry>();
            var id = Encoding.UTF8.GetBytes(jobId);
            for (var i = ledger.ReservedJobs.GetValueOrDefault(jobId); i < ledger.Lines.Count; i++)
            {
                if (ledger.Lines.IsOfJob(i, id))
                {
                    found.Add(ledger.Lines[i]);
                }
            }

            return Task.FromResult<IReadOnlyList<LedgerEntry>>(found);
        }
    }

    private sealed class TenantLedger
    {
        public LedgerLog Lines { get; } = new();

        /// <summary>Each job with a reserve line, and that line's index.</summary>
        public Dictionary<string, int> ReservedJobs { get; } = new(StringComparer.Ordinal);
    }
}
