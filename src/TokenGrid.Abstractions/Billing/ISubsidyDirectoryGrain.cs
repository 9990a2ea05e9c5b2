using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Billing;

/// <summary>The sorted list of subsidy program ids (one activation, key 0).</summary>
public interface ISubsidyDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds a program id (idempotent).</summary>
    Task AddAsync(string programId);

    /// <summary>All program ids, sorted.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}
