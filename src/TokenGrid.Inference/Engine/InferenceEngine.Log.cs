using Microsoft.Extensions.Logging;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Inference.Engine;

public sealed partial class InferenceEngine
{
    [LoggerMessage(1, LogLevel.Information, "Engine for model {Model} started on {Provider} (CUDA fallback: {Fallback}); batch {MaxBatch}, queue {MaxQueue}; intra-op pool at nice {ThreadNice}; up to {MaxLanes} decode lanes, split when it saves {SplitPositions} padded positions")]
    private partial void LogStarted(string model, ExecutionProviderKind provider, string fallback, int maxBatch, int maxQueue, int threadNice, int maxLanes, long splitPositions);

    [LoggerMessage(2, LogLevel.Error, "A {Phase} run over {Sequences} sequences failed; they end as failed")]
    private partial void LogRunFailed(string phase, int sequences, Exception exception);

    [LoggerMessage(3, LogLevel.Critical, "The decode loop crashed; every sequence ends as failed")]
    private partial void LogLoopCrashed(Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Engine for model {Model} stopped")]
    private partial void LogStopped(string model);

    [LoggerMessage(5, LogLevel.Warning, "Model {Model}: {Note}")]
    private partial void LogSettingIgnored(string model, string note);

    [LoggerMessage(6, LogLevel.Information, "Model {Model}: {Note}")]
    private partial void LogValueDefaulted(string model, string note);

    [LoggerMessage(7, LogLevel.Warning, "Model {Model}: the intra-op pool runs at the process's nice value, not the one configured: {Reason}")]
    private partial void LogThreadNiceFailed(string model, string reason);

    [LoggerMessage(8, LogLevel.Information, "Model {Model}: prefill computes logits at every prompt position and reads the last ({Reason})")]
    private partial void LogEveryPositionLogits(string model, string reason);
}
