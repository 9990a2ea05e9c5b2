namespace TokenGrid.Abstractions.Nodes;

/// <summary>
/// What the live nodes carrying one label (<see cref="Key"/>=<see cref="Value"/>) supply now, summed over their latest
/// reports. A node counts once under each of its labels, so the rows of one key add up to the nodes that have that key.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.LabelSupply")]
public sealed record LabelSupply
{
    /// <summary>Label key (<c>region</c>, <c>pool</c>).</summary>
    [Id(0)] public required string Key { get; init; }

    /// <summary>Label value (<c>west</c>, <c>batch</c>).</summary>
    [Id(1)] public required string Value { get; init; }

    /// <summary>Live nodes with the label, draining ones included.</summary>
    [Id(2)] public int Nodes { get; init; }

    /// <summary>Of <see cref="Nodes"/>, those taking new work (not draining).</summary>
    [Id(3)] public int AcceptingNodes { get; init; }

    /// <summary>Tokens per second over the last 10 seconds.</summary>
    [Id(4)] public double TokensPerSecond10s { get; init; }

    /// <summary>Sequences decoding or prefilling.</summary>
    [Id(5)] public int ActiveSequences { get; init; }

    /// <summary>Sequences waiting on the nodes (in an engine's queue or for a model to load).</summary>
    [Id(6)] public int QueuedSequences { get; init; }

    /// <summary>Tokens (prompt and remaining output) of the sequences running or queued on the nodes.</summary>
    [Id(7)] public long OutstandingTokens { get; init; }

    /// <summary>Batch capacity of the nodes' loaded engines.</summary>
    [Id(8)] public int MaxBatchSize { get; init; }

    /// <summary>
    /// Tokens of admitted jobs waiting in the dispatcher's queues that may only run on nodes with this label. The node
    /// registry knows no queues and leaves it 0; the scheduler fills it.
    /// </summary>
    [Id(9)] public long DemandTokens { get; init; }

    /// <summary>The label as <c>key=value</c>.</summary>
    public string Label => $"{Key}={Value}";
}
