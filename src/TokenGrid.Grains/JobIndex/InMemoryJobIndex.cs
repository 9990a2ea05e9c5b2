using System.Collections.Concurrent;

namespace TokenGrid.Grains.JobIndex;

/// <summary>A process-local <see cref="IJobIndex"/> for development and tests; lost on restart.</summary>
public sealed class InMemoryJobIndex : IJobIndex
{
    private readonly ConcurrentDictionary<string, TenantJobs> _tenants = new(StringComparer.Ordinal);

    /// <summary>Adds a job id; false when the tenant already had it.</summary>
    public bool Add(string tenantId, string jobId)
    {
        var jobs = _tenants.GetOrAdd(tenantId, _ => new TenantJobs());
        lock (jobs)
        {
            if (!jobs.Positions.TryAdd(jobId, jobs.Ids.Count))
            {
                return false;
            }

            jobs.Ids.Add(jobId);
            return true;
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListAsync(string tenantId, string? beforeJobId, int limit, CancellationToken cancellationToken = default)
    {
        if (!_tenants.TryGetValue(tenantId, out var jobs))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        lock (jobs)
        {
            var end = beforeJobId is null ? jobs.Ids.Count : jobs.Positions.GetValueOrDefault(beforeJobId, 0);
            var page = new List<string>(Math.Min(limit, end));
            for (var i = end - 1; i >= 0 && page.Count < limit; i--)
            {
                page.Add(jobs.Ids[i]);
            }

            return Task.FromResult<IReadOnlyList<string>>(page);
        }
    }

    private sealed class TenantJobs
    {
        public List<string> Ids { get; } = [];

        public Dictionary<string, int> Positions { get; } = new(StringComparer.Ordinal);
    }
}
