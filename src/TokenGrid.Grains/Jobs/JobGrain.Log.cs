using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Storage;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Job {JobId} ended {Status}: {CompletionTokens} tokens, charged {Charged} ({Error})")]
    private static partial void LogFinished(ILogger logger, string jobId, JobStatus status, int completionTokens, long? charged, string? error);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Job {JobId} failed on node {NodeId}")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string jobId, string? nodeId);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Error, Message = "Job {JobId} could not be saved")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Job {JobId} could not be admitted by tenant {TenantId}")]
    private static partial void LogAdmissionFailed(ILogger logger, Exception exception, string jobId, string tenantId);

    [LoggerMessage(EventId = 1322, Level = LogLevel.Error, Message = "Job {JobId} could not be admitted by tenant {TenantId}: the database refused it (SQLSTATE {SqlState}), which a retry does not fix")]
    private static partial void LogAdmissionFaulted(ILogger logger, Exception exception, string jobId, string tenantId, string? sqlState);

    /// <summary>An admission that threw: an Error naming the SQLSTATE when the database refused it for good, else a Warning.</summary>
    private void LogAdmissionError(Exception e, string tenantId)
    {
        if (DatabaseErrors.IsPermanent(e))
        {
            LogAdmissionFaulted(logger, e, JobId, tenantId, DatabaseErrors.SqlState(e));
        }
        else
        {
            LogAdmissionFailed(logger, e, JobId, tenantId);
        }
    }

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Job {JobId} could not release its place with the dispatcher of model {Model}")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string jobId, string model);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Warning, Message = "Job {JobId} could not reach node {NodeId} (its silo is gone as this silo sees it); it queues again")]
    private static partial void LogNodeUnreachable(ILogger logger, string jobId, string nodeId);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Warning, Message = "Job {JobId} lost its stream from node {NodeId} (the node or its silo failed); it resumes by recomputation")]
    private static partial void LogNodeLost(ILogger logger, Exception exception, string jobId, string nodeId);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Information, Message = "Job {JobId} reactivated from its checkpoint (the activation before it ended unfinished: its silo stopped or failed); resuming from {CompletionTokens} tokens (it ran on {NodeId})")]
    private static partial void LogResumed(ILogger logger, string jobId, int completionTokens, string? nodeId);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Job {JobId} could not save a checkpoint; a failover would recompute more")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Warning, Message = "Job {JobId} could not check its place with its dispatcher")]
    private static partial void LogRecoverFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Information, Message = "Job {JobId} resumed on node {NodeId} from token {Token}")]
    private static partial void LogRunResumed(ILogger logger, string jobId, string nodeId, int token);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning,
        Message = "Job {JobId} could not reach its dispatcher (attempt {Attempt}: a silo was lost); asking again")]
    private static partial void LogEnqueueRetry(ILogger logger, Exception exception, string jobId, int attempt);

    [LoggerMessage(EventId = 1315, Level = LogLevel.Information,
        Message = "Job {JobId} resumed and no client watched its stream within {Grace}; it ends as a client that left, charged for the {CompletionTokens} tokens it had produced")]
    private static partial void LogResumedUnwatched(ILogger logger, string jobId, TimeSpan grace, int completionTokens);

    /// <summary>The ending of a resumed chat or completion no one watched within <paramref name="grace"/>, logged.</summary>
    private JobEnding UnwatchedEnding(TimeSpan grace)
    {
        LogResumedUnwatched(logger, JobId, grace, Progress.CompletionTokens);
        return JobEnding.Unwatched(grace);
    }

    [LoggerMessage(EventId = 1320, Level = LogLevel.Warning, Message = "Job {JobId} could not record when its content expires; retried")]
    private static partial void LogExpiryNotScheduled(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 1321, Level = LogLevel.Warning, Message = "Job {JobId} deleted its content but not its expiry entry; a sweep removes it")]
    private static partial void LogExpiryNotRemoved(ILogger logger, Exception exception, string jobId);
}
