using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.JobIndex;

/// <summary>
/// Every job id a tenant submitted, admitted or rejected, newest first, for the jobs listing. Kept outside the
/// tenant grain's state so that state stays small; the <see cref="ITenantStore"/> adds job ids with the save that
/// decided them.
/// </summary>
public interface IJobIndex
{
    /// <summary>Up to <paramref name="limit"/> job ids, newest first, after <paramref name="beforeJobId"/> when given (unknown: empty).</summary>
    Task<IReadOnlyList<string>> ListAsync(string tenantId, string? beforeJobId, int limit, CancellationToken cancellationToken = default);
}
