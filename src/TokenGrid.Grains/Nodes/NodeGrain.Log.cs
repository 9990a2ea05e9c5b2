using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeGrain
{
    [LoggerMessage(EventId = 1210, Level = LogLevel.Debug, Message = "Node {NodeId} refused job {JobId} ({Status}): {Error}")]
    private static partial void LogRefused(ILogger logger, string nodeId, string jobId, SubmitStatus status, string? error);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "Node {NodeId} could not report to the registry")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string nodeId);
}
