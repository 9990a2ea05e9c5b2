namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Every job id a tenant submitted, admitted or rejected, newest first, for the jobs listing. Kept outside the
/// tenant grain's state so that state stays small: it is written on every admission.
/// </summary>
public interface IJobIndex
{
    /// <summary>Adds a job id; false when the tenant already had it.</summary>
    Task<bool> AddAsync(string tenantId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> job ids, newest first, after <paramref name="beforeJobId"/> when given (unknown: empty).</summary>
    Task<IReadOnlyList<string>> ListAsync(string tenantId, string? beforeJobId, int limit, CancellationToken cancellationToken = default);
}
