using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeRuntime
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Node {NodeId} started on {Provider} (fallback: {FallbackReason}) serving {Models}")]
    private static partial void LogDeviceStarted(ILogger logger, string nodeId, ExecutionProviderKind provider, string fallbackReason, string models);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Stopping before {Engines} engines drained; sequences still running end as failed")]
    private static partial void LogDrainAbandoned(ILogger logger, int engines);
}
