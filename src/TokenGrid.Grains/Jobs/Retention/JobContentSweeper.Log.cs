using Microsoft.Extensions.Logging;

namespace TokenGrid.Grains.Jobs.Retention;

public sealed partial class JobContentSweeper
{
    [LoggerMessage(EventId = 1330, Level = LogLevel.Information, Message = "Deleted the expired content of {Jobs} jobs ({Bytes} bytes) in {Batches} batches")]
    private static partial void LogSwept(ILogger logger, int jobs, long bytes, int batches);

    [LoggerMessage(EventId = 1331, Level = LogLevel.Warning, Message = "The expired content of job {JobId} could not be deleted; a later sweep retries")]
    private static partial void LogDeleteFailed(ILogger logger, Exception exception, string jobId);
}
