using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>One device of this silo and its engines, one per served model. Owned by <see cref="NodeRuntime"/>.</summary>
public sealed class NodeDevice
{
    internal NodeDevice(string name, string nodeId, IReadOnlyList<(string Model, InferenceEngine Engine)> engines, int maxBatchSizePerEngine)
    {
        Name = name;
        NodeId = nodeId;
        Engines = engines.ToDictionary(e => e.Model, e => e.Engine, StringComparer.Ordinal);
        Models = [.. engines.Select(e => e.Model)];
        MaxBatchSize = maxBatchSizePerEngine * engines.Count;
        var first = engines[0].Engine.Model;
        Provider = first.Provider;
        ProviderFallbackReason = engines.Select(e => e.Engine.Model.ProviderFallbackReason).FirstOrDefault(r => r is not null);
    }

    /// <summary>Device name (<c>cpu0</c>, <c>gpu1</c>).</summary>
    public string Name { get; }

    /// <summary>The node id: <c>{silo}/{device}</c>.</summary>
    public string NodeId { get; }

    /// <summary>Engines by the catalog's model name.</summary>
    public IReadOnlyDictionary<string, InferenceEngine> Engines { get; }

    /// <summary>Model names, in catalog order.</summary>
    public IReadOnlyList<string> Models { get; }

    /// <summary>Batch capacity summed over the engines.</summary>
    public int MaxBatchSize { get; }

    /// <summary>The execution provider the engines run on.</summary>
    public ExecutionProviderKind Provider { get; }

    /// <summary>Why CUDA was not used where asked for, otherwise null.</summary>
    public string? ProviderFallbackReason { get; }

    /// <summary>The engines' counters, summed.</summary>
    public (long TokensGenerated, int Active, int Queued) Load()
    {
        long tokens = 0;
        int active = 0, queued = 0;
        foreach (var engine in Engines.Values)
        {
            var snapshot = engine.Statistics.Snapshot();
            tokens += snapshot.TokensGenerated;
            active += snapshot.ActiveSequences;
            queued += snapshot.QueuedSequences;
        }

        return (tokens, active, queued);
    }
}
