using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeGrain
{
    /// <summary>Publishes the node's load with each report: the node's figures and each loaded model's engine.</summary>
    private void RecordLoad(NodeReport report)
    {
        var models = new List<ModelLoad>(report.Models.Length);
        foreach (var model in report.Models)
        {
            if (!_device.Models.TryGetEngine(model, out var engine))
            {
                continue;
            }

            var stats = engine.Statistics.Snapshot();
            var kvPerSequence = catalog.TryGet(model, out var entry) ? entry.KvBytesPerSequence : 0;
            models.Add(new ModelLoad(
                model, stats.ActiveSequences, stats.QueuedSequences, stats.LastBatchSize, _device.Models.MaxBatchSize,
                stats.ActiveSequences * kvPerSequence, stats.PrefixCache, stats.LastDecodeRuns, engine.KvCacheBytes, engine.KvCacheLimitBytes));
        }

        instruments.OnNodeLoad(new NodeLoad(Id, report.TokensPerSecond10s, report.MemoryUsedBytes, report.MemoryBudgetBytes, models, [.. report.FailedModels.Keys]));
    }
}
