using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeGrain
{
    [LoggerMessage(EventId = 1210, Level = LogLevel.Debug, Message = "Node {NodeId} refused job {JobId} ({Status}): {Error}")]
    private static partial void LogRefused(ILogger logger, string nodeId, string jobId, SubmitStatus status, string? error);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "Node {NodeId} could not report to the registry")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Debug, Message = "Node {NodeId} refused job {JobId}: {Reason}")]
    private static partial void LogNotTaken(ILogger logger, string nodeId, string jobId, string reason);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Information, Message = "Node {NodeId} is draining: new sequences are refused, {Running} still hold a model")]
    private static partial void LogDraining(ILogger logger, string nodeId, int running);

    [LoggerMessage(EventId = 1214, Level = LogLevel.Information, Message = "Node {NodeId} takes new sequences again")]
    private static partial void LogResumed(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 1215, Level = LogLevel.Warning, Message = "Node {NodeId}'s report {What} {Seconds:0.0} s (it reports every {Period:0.#} s and counts as gone after {Lifetime:0.#} s without one): its silo was held up")]
    private static partial void LogReportLate(ILogger logger, string nodeId, string what, double seconds, double period, double lifetime);

    [LoggerMessage(EventId = 1216, Level = LogLevel.Warning, Message = "Node {NodeId} could not tell model {Model}'s dispatcher of its drain or resume; it hears at its next refresh")]
    private static partial void LogDispatcherRefreshFailed(ILogger logger, Exception exception, string nodeId, string model);
}
