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
}

/// <summary>The cluster's view of its nodes (one activation, key 0). Reports older than a few periods count as gone.</summary>
public interface INodeRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a node's report.</summary>
    Task ReportAsync(NodeReport report);

    /// <summary>Removes a node (it is shutting down).</summary>
    Task RemoveAsync(string nodeId);

    /// <summary>Live nodes, by id.</summary>
    [ReadOnly]
    Task<IReadOnlyList<NodeReport>> ListAsync();
}
