using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Grains.Billing;

public sealed partial class SubsidyProgramGrain
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Subsidy program {ProgramId} put: {ShareBasisPoints} bps, {Budget} per period, {OnExhausted} when exhausted")]
    private static partial void LogPut(ILogger logger, string programId, int shareBasisPoints, Money budget, SubsidyExhaustion onExhausted);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Debug, Message = "Subsidy program {ProgramId} settled job {JobId} of tenant {TenantId}: spent {Spent}")]
    private static partial void LogSettled(ILogger logger, string programId, string tenantId, string jobId, Money spent);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "Subsidy program {ProgramId} released {Amount} reserved for job {JobId}, which tenant {TenantId} never admitted")]
    private static partial void LogReleased(ILogger logger, string programId, string tenantId, string jobId, Money amount);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Debug, Message = "Subsidy program {ProgramId} checked {Stale} old reservations, released {Released}; {Open} open")]
    private static partial void LogRepairTick(ILogger logger, string programId, int stale, int released, int open);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "Subsidy program {ProgramId} could not ask tenant {TenantId} about job {JobId}")]
    private static partial void LogRepairCheckFailed(ILogger logger, Exception exception, string programId, string tenantId, string jobId);

    [LoggerMessage(EventId = 1705, Level = LogLevel.Warning, Message = "Subsidy program {ProgramId} could not update its repair reminder")]
    private static partial void LogRepairReminderFailed(ILogger logger, Exception exception, string programId);

    [LoggerMessage(EventId = 1706, Level = LogLevel.Warning, Message = "Subsidy program {ProgramId} could not save its state; {Steps} queued changes failed and the activation starts over from storage")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception, string programId, int steps);
}
