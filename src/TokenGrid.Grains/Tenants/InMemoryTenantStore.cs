using System.Collections.Concurrent;
using Orleans.Serialization;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.JobIndex;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// A process-local <see cref="ITenantStore"/> for the single-silo local profile and tests; lost on restart. It keeps the
/// same promises as the PostgreSQL store: a save is a deep copy of the state, its lines go to the
/// <see cref="InMemoryLedgerStore"/> and its job ids to the <see cref="InMemoryJobIndex"/> under one lock, versions are
/// checked, and a second reservation for a job id is refused.
/// </summary>
public sealed class InMemoryTenantStore(DeepCopier copier, InMemoryLedgerStore ledger, InMemoryJobIndex jobs) : ITenantStore
{
    private readonly ConcurrentDictionary<string, StoredTenant> _tenants = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public Task<StoredTenant?> LoadAsync(string tenantId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_tenants.TryGetValue(tenantId, out var stored) ? stored with { State = copier.Copy(stored.State) } : null);

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, long>> VersionsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<string, long>>(_tenants.ToDictionary(t => t.Key, t => t.Value.Version, StringComparer.Ordinal));

    /// <inheritdoc/>
    public Task<TenantSaveResult> SaveAsync(TenantSave save, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(save);
        lock (_tenants)
        {
            var current = _tenants.TryGetValue(save.TenantId, out var stored) ? stored.Version : 0;
            if (current != save.ExpectedVersion)
            {
                throw save.Stale(current);
            }

            var refused = save.Lines
                .Where(line => line.Kind == LedgerEntryKind.Reserve && ledger.HasReserve(save.TenantId, line.JobId))
                .Select(line => line.JobId)
                .ToList();
            if (refused.Count > 0)
            {
                return Task.FromResult(new TenantSaveResult(save.ExpectedVersion, refused));
            }

            // The ledger checks every line before taking any; only then does anything else change.
            ledger.Append(save.TenantId, save.Lines);
            _tenants[save.TenantId] = new StoredTenant(copier.Copy(save.State), current + 1);
            foreach (var jobId in save.JobIds)
            {
                jobs.Add(save.TenantId, jobId);
            }

            return Task.FromResult(new TenantSaveResult(current + 1, []));
        }
    }
}
