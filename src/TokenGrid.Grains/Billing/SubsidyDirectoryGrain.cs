using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

/// <summary>The sorted list of subsidy program ids (one activation, key 0).</summary>
public sealed class SubsidyDirectoryGrain(
    [PersistentState("subsidy-directory", TokenGridStorage.Name)] IPersistentState<SubsidyDirectoryState> state)
    : Grain, ISubsidyDirectoryGrain
{
    /// <inheritdoc/>
    public async Task AddAsync(string programId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(programId);
        var ids = state.State.ProgramIds;
        var index = ids.BinarySearch(programId, StringComparer.Ordinal);
        if (index >= 0)
        {
            return;
        }

        ids.Insert(~index, programId);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Unsaved: the list must not show an id the store does not hold; the next put adds it again.
            await state.ReadStateAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.ProgramIds]);
}

/// <summary>What the subsidy program directory persists.</summary>
[GenerateSerializer, Alias("tg.SubsidyDirectoryState")]
public sealed class SubsidyDirectoryState
{
    /// <summary>Program ids in ordinal order, without duplicates.</summary>
    [Id(0)] public List<string> ProgramIds { get; set; } = [];
}
