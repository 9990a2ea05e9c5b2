using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Nodes;

/// <summary>
/// One device (key: node id <c>{silo}/{device}</c>). It lives on the silo that owns the device (placement by
/// silo, never by chance), runs its engines and reports its load to the registry.
/// </summary>
public interface INodeGrain : IGrainWithStringKey
{
    /// <summary>Activates the node and starts its reporting timer (called by the owning silo at startup).</summary>
    Task StartAsync();

    /// <summary>
    /// Generates a sequence. Text arrives in chunks; the last chunk carries the final usage. Disposing the
    /// enumeration early cancels the sequence and frees its slot.
    /// </summary>
    [AlwaysInterleave]
    IAsyncEnumerable<GenerationChunk> GenerateAsync(GenerationSpec spec);

    /// <summary>The node's load now.</summary>
    [ReadOnly, AlwaysInterleave]
    Task<NodeReport> GetReportAsync();

    /// <summary>
    /// Stops taking new sequences (they are refused with the reason) while the running ones finish; the node then
    /// reports <see cref="NodeReport.Drained"/>. The flag lasts until <see cref="ResumeAsync"/> or the silo stops,
    /// across reactivations of the grain. Idempotent; the registry hears of it at once.
    /// </summary>
    Task DrainAsync();

    /// <summary>Takes new sequences again after <see cref="DrainAsync"/>. Idempotent.</summary>
    Task ResumeAsync();
}

/// <summary>The cluster's view of its nodes (one activation, key 0). Reports older than a few periods count as gone.</summary>
public interface INodeRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a node's report.</summary>
    Task ReportAsync(NodeReport report);

    /// <summary>Removes a node (it is shutting down).</summary>
    Task RemoveAsync(string nodeId);

    /// <summary>Live nodes, by id, without their prefix digests (<see cref="NodeReport.PrefixDigests"/> empty).</summary>
    [ReadOnly]
    Task<IReadOnlyList<NodeReport>> ListAsync();

    /// <summary>
    /// Live nodes, by id, as <paramref name="model"/>'s dispatcher places by them: as <see cref="ListAsync"/>, each with
    /// the prefix digest of that model alone.
    /// </summary>
    [ReadOnly]
    Task<IReadOnlyList<NodeReport>> ListForDispatcherAsync(string model);

    /// <summary>
    /// Live nodes that take new work (not draining) and have <paramref name="model"/> loaded or loadable: those with
    /// it loaded first, then by node id.
    /// </summary>
    [ReadOnly]
    Task<IReadOnlyList<NodeReport>> ListForModelAsync(string model);

    /// <summary>The live nodes' supply per label <c>key=value</c>, ordered by key, then value.</summary>
    [ReadOnly]
    Task<IReadOnlyList<LabelSupply>> SupplyByLabelAsync();
}
