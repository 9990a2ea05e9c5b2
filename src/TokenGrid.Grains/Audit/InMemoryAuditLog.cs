namespace TokenGrid.Grains.Audit;

/// <summary>A process-local <see cref="IAuditLog"/> for the local profile (one silo); lost on restart with everything else.</summary>
public sealed class InMemoryAuditLog : IAuditLog
{
    private readonly Lock _lock = new();
    private readonly List<AuditEntry> _entries = [];

    /// <inheritdoc/>
    public Task<AuditEntry> AppendAsync(AuditChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            var entry = new AuditEntry(_entries.Count + 1, change);
            _entries.Add(entry);
            return Task.FromResult(entry);
        }
    }

    /// <inheritdoc/>
    public Task<AuditPage> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        var page = new List<AuditEntry>();
        lock (_lock)
        {
            // Sequences are 1, 2, 3, ...: the entry after `After` is at index `After`.
            for (var i = (int)Math.Clamp(query.After, 0, _entries.Count); i < _entries.Count && page.Count <= query.Limit; i++)
            {
                var change = _entries[i].Change;
                if ((query.Action is null || query.Action == change.Action) && (query.Target is null || query.Target == change.Target))
                {
                    page.Add(_entries[i]);
                }
            }
        }

        return Task.FromResult(AuditPages.Of(page, query.Limit));
    }
}

/// <summary>Turns up to <c>limit + 1</c> entries read into a page of <c>limit</c> that says whether more follow.</summary>
public static class AuditPages
{
    /// <summary>The page of the first <paramref name="limit"/> of <paramref name="read"/> (read one more than the limit).</summary>
    public static AuditPage Of(List<AuditEntry> read, int limit)
    {
        ArgumentNullException.ThrowIfNull(read);
        if (read.Count <= limit)
        {
            return new AuditPage(read, null);
        }

        read.RemoveRange(limit, read.Count - limit);
        return new AuditPage(read, read[^1].Sequence);
    }
}
