using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeRuntime
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Node {NodeId} serves {Models} (memory budget {BudgetBytes} bytes, 0: unlimited, from {BudgetSource}; labels: {Labels})")]
    private static partial void LogDeviceStarted(ILogger logger, string nodeId, string models, long budgetBytes, string budgetSource, string labels);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Node {NodeId} runs its models with {Threads} intra-op threads (TokenGrid:Nodes:IntraOpThreads or DeviceIntraOpThreads) on {Cores} cores: the threads beyond the cores wait for each other at every parallel section of every step; set at most the core count, or 0 for one per core")]
    private static partial void LogThreadsAboveCores(ILogger logger, string nodeId, int threads, int cores);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Stopping before the engines of {Devices} devices drained; sequences still running end as failed")]
    private static partial void LogDrainAbandoned(ILogger logger, int devices);
}
