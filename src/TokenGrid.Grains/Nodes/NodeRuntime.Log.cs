using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeRuntime
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Node {NodeId} serves {Models} (memory budget {BudgetBytes} bytes, 0: unlimited; labels: {Labels})")]
    private static partial void LogDeviceStarted(ILogger logger, string nodeId, string models, long budgetBytes, string labels);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Stopping before the engines of {Devices} devices drained; sequences still running end as failed")]
    private static partial void LogDrainAbandoned(ILogger logger, int devices);
}
