using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeModels
{
    [LoggerMessage(EventId = 1230, Level = LogLevel.Information, Message = "Node {NodeId} loaded model {Model} on {Provider} ({Bytes} estimated)")]
    private static partial void LogLoaded(ILogger logger, string nodeId, string model, ExecutionProviderKind provider, string bytes);

    [LoggerMessage(EventId = 1231, Level = LogLevel.Warning, Message = "Node {NodeId} could not load model {Model} ({Attempts} failed loads in a row); it stops advertising the model until a load succeeds (TokenGrid:Nodes:FailedLoadRetry)")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string nodeId, string model, int attempts);

    [LoggerMessage(EventId = 1236, Level = LogLevel.Information, Message = "Node {NodeId} loaded model {Model} after failed loads: it advertises the model again")]
    private static partial void LogLoadRecovered(ILogger logger, string nodeId, string model);

    [LoggerMessage(EventId = 1232, Level = LogLevel.Information, Message = "Node {NodeId} unloads model {Model}, the least recently used idle one, to make room for {ForModel}")]
    private static partial void LogUnloading(ILogger logger, string nodeId, string model, string forModel);

    [LoggerMessage(EventId = 1233, Level = LogLevel.Information, Message = "Node {NodeId} unloaded model {Model} ({Bytes} estimated)")]
    private static partial void LogUnloaded(ILogger logger, string nodeId, string model, string bytes);

    [LoggerMessage(EventId = 1234, Level = LogLevel.Warning, Message = "Node {NodeId} could not unload model {Model} cleanly")]
    private static partial void LogUnloadFailed(ILogger logger, Exception exception, string nodeId, string model);

    [LoggerMessage(EventId = 1235, Level = LogLevel.Information, Message = "Node {NodeId} does not preload model {Model}: {Reason}")]
    private static partial void LogPreloadSkipped(ILogger logger, string nodeId, string model, string reason);

    [LoggerMessage(EventId = 1237, Level = LogLevel.Warning, Message = "Node {NodeId} loads model {Model} with a key/value cache of {KvCache}, less than {MaxBatchSize} sequences at {Context} tokens, to fit its memory budget of {Budget}: sequences wait in the engine's queue while the running ones would fill it")]
    private static partial void LogKvCacheReduced(ILogger logger, string nodeId, string model, string kvCache, int maxBatchSize, int context, string budget);
}
