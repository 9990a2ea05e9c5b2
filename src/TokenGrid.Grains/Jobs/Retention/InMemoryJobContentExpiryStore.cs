namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>A process-local <see cref="IJobContentExpiryStore"/> for the local profile (one silo); lost on restart with the jobs.</summary>
public sealed class InMemoryJobContentExpiryStore : IJobContentExpiryStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SortedSet<(DateTimeOffset At, string JobId)> _byExpiry = [];
    private readonly SortedSet<(DateTimeOffset At, string JobId)> _byFinish = [];

    /// <summary>Entries held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <inheritdoc/>
    public Task ScheduleAsync(JobContentExpiry expiry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expiry);
        lock (_lock)
        {
            RemoveLocked(expiry.JobId);
            _entries[expiry.JobId] = new Entry(expiry);
            _byExpiry.Add((expiry.ExpiresAt, expiry.JobId));
            _byFinish.Add((expiry.FinishedAt, expiry.JobId));
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<JobContentExpiry>> ClaimDueAsync(
        DateTimeOffset now, int limit, DateTimeOffset claimedUntil, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var claimed = new List<JobContentExpiry>();
        lock (_lock)
        {
            foreach (var (at, jobId) in _byExpiry)
            {
                if (at > now || claimed.Count == limit)
                {
                    break;
                }

                var entry = _entries[jobId];
                if (entry.ClaimedUntil is { } until && until > now)
                {
                    continue;
                }

                entry.ClaimedUntil = claimedUntil;
                claimed.Add(entry.Expiry);
            }
        }

        return Task.FromResult<IReadOnlyList<JobContentExpiry>>(claimed);
    }

    /// <inheritdoc/>
    public Task RemoveAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        lock (_lock)
        {
            foreach (var jobId in jobIds)
            {
                RemoveLocked(jobId);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<DateTimeOffset?> OldestFinishedAtAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<DateTimeOffset?>(_byFinish.Count > 0 ? _byFinish.Min.At : null);
        }
    }

    private void RemoveLocked(string jobId)
    {
        if (_entries.Remove(jobId, out var old))
        {
            _byExpiry.Remove((old.Expiry.ExpiresAt, jobId));
            _byFinish.Remove((old.Expiry.FinishedAt, jobId));
        }
    }

    private sealed class Entry(JobContentExpiry expiry)
    {
        public JobContentExpiry Expiry { get; } = expiry;

        public DateTimeOffset? ClaimedUntil { get; set; }
    }
}
