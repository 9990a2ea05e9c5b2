using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Nodes;

internal sealed partial class NodeStartup
{
    [LoggerMessage(EventId = 1220, Level = LogLevel.Error, Message = "Node {NodeId} could not be started")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(EventId = 1221, Level = LogLevel.Warning, Message = "Node {NodeId} could not be removed from the registry")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(EventId = 1222, Level = LogLevel.Information, Message = "Node {NodeId} drained for the silo's stop: the {Running} sequences it held finished in {Seconds:0.0} s")]
    private static partial void LogDrained(ILogger logger, string nodeId, int running, double seconds);

    [LoggerMessage(EventId = 1223, Level = LogLevel.Warning, Message = "Node {NodeId} did not drain within the shutdown timeout: {Running} sequences are cut with the silo, and their jobs resume on other nodes")]
    private static partial void LogDrainCut(ILogger logger, string nodeId, int running);

    [LoggerMessage(EventId = 1224, Level = LogLevel.Warning, Message = "Node {NodeId} could not drain before the silo's grains stop; its jobs resume on other nodes")]
    private static partial void LogDrainFailed(ILogger logger, Exception exception, string nodeId);
}
