using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Nodes;

internal sealed partial class NodeStartup
{
    [LoggerMessage(EventId = 1220, Level = LogLevel.Error, Message = "Node {NodeId} could not be started")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(EventId = 1221, Level = LogLevel.Warning, Message = "Node {NodeId} could not be removed from the registry")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string nodeId);
}
