using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

public sealed partial class ModelDispatcherGrain
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Debug, Message = "Job {JobId} of tenant {TenantId} dispatched to {NodeId} for model {Model}")]
    private static partial void LogDispatched(ILogger logger, string jobId, string model, string nodeId, string tenantId);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Job {JobId} preempted on {NodeId} for model {Model} to make room for {HighJobId}")]
    private static partial void LogPreempted(ILogger logger, string jobId, string model, string nodeId, string highJobId);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Debug, Message = "Job {JobId} refused for model {Model}: {Rejection} ({Reason})")]
    private static partial void LogRefused(ILogger logger, string jobId, string model, SchedulingRejection rejection, string reason);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "The dispatcher of model {Model} could not read the node registry; it keeps its last view")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string model);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Node {NodeId} left with its silo; the dispatcher of model {Model} told its {Jobs} running jobs to recover")]
    private static partial void LogNodeLost(ILogger logger, string nodeId, string model, int jobs);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Job {JobId} running on {NodeId} adopted by the dispatcher of model {Model}")]
    private static partial void LogAdopted(ILogger logger, string jobId, string model, string nodeId);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning,
        Message = "Node {NodeId} could not be reached by a job (its silo is gone as another silo sees it); the dispatcher of model {Model} places nothing there until it reports again")]
    private static partial void LogNodeUnreachable(ILogger logger, string nodeId, string model);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning,
        Message = "No node has served model {Model} for {Seconds:F0} s (TokenGrid:Scheduling:UnservedModelGrace): its {Jobs} waiting jobs end failed")]
    private static partial void LogUnserved(ILogger logger, string model, int jobs, double seconds);
}
