using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>The sorted list of tenant ids (one activation, key 0).</summary>
public sealed class TenantDirectoryGrain(
    [PersistentState("directory", TokenGridStorage.Name)] IPersistentState<TenantDirectoryState> state)
    : Grain, ITenantDirectoryGrain
{
    /// <inheritdoc/>
    public async Task AddAsync(string tenantId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenantId);
        var ids = state.State.TenantIds;
        var index = ids.BinarySearch(tenantId, StringComparer.Ordinal);
        if (index >= 0)
        {
            return;
        }

        ids.Insert(~index, tenantId);
        await state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.TenantIds]);
}
