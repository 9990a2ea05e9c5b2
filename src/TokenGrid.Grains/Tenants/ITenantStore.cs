using Orleans.Storage;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Where a tenant grain keeps its state. A save writes the state together with the ledger lines and job ids its
/// changes added, all or nothing, so a ledger line exists exactly when the budget move it records is saved.
/// </summary>
/// <remarks>
/// <para>
/// Saves are versioned: each names the version it read (0 before the first save) and succeeds only if the stored
/// state is still at it, so a stale activation (one that lost its silo's membership but still runs) can never
/// overwrite a newer state or add ledger lines out of turn; it gets <see cref="InconsistentStateException"/>.
/// </para>
/// <para>
/// One job id reserves once, ever: a save that would add a reserve line for a job id the ledger already holds one for
/// (a job settled so long ago that the state no longer remembers it) stores nothing and names those job ids instead.
/// </para>
/// </remarks>
public interface ITenantStore
{
    /// <summary>The saved state and its version, or null when the tenant was never saved.</summary>
    Task<StoredTenant?> LoadAsync(string tenantId, CancellationToken cancellationToken = default);

    /// <summary>Saves <paramref name="save"/> in one write; the new version, or the job ids that already reserved.</summary>
    Task<TenantSaveResult> SaveAsync(TenantSave save, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every saved tenant's id and version, read from the store without activating a tenant: every budget move is a save,
    /// so a reader that kept a tenant's usage at a version knows it is unchanged while the version is.
    /// </summary>
    Task<IReadOnlyDictionary<string, long>> VersionsAsync(CancellationToken cancellationToken = default);
}

/// <summary>A tenant's state as saved, and the version to name in the next save.</summary>
public sealed record StoredTenant(TenantState State, long Version);

/// <summary>One save: the whole state, the version it was read at, and what its changes added.</summary>
/// <param name="TenantId">The tenant.</param>
/// <param name="State">The state after the changes; read before the save's first await, so it may change after.</param>
/// <param name="ExpectedVersion">The version the state was read or last saved at; 0 when it was never saved.</param>
/// <param name="Lines">The ledger lines the changes added, in sequence order, continuing the stored ones.</param>
/// <param name="JobIds">Job ids the tenant saw for the first time (admitted or rejected), in arrival order.</param>
public sealed record TenantSave(
    string TenantId,
    TenantState State,
    long ExpectedVersion,
    IReadOnlyList<LedgerEntry> Lines,
    IReadOnlyList<string> JobIds)
{
    /// <summary>What a store throws when the stored state is no longer at <see cref="ExpectedVersion"/>.</summary>
    /// <param name="storedVersion">The version stored, when the store knows it.</param>
    public InconsistentStateException Stale(long? storedVersion = null) => new(
        $"Tenant '{TenantId}' was saved by another activation since version {ExpectedVersion}.",
        storedVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
        ExpectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>What a save did.</summary>
/// <param name="Version">The new version when saved; otherwise the version the save named.</param>
/// <param name="AlreadyReserved">Job ids whose reserve line the ledger already held; when any, nothing was saved.</param>
public sealed record TenantSaveResult(long Version, IReadOnlyList<string> AlreadyReserved)
{
    /// <summary>Whether the state, lines and job ids were stored.</summary>
    public bool Saved => AlreadyReserved.Count == 0;
}
