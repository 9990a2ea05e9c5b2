using TokenGrid.Inference.Engine;

namespace TokenGrid.Grains.Telemetry;

/// <summary>How a request ended, for <see cref="TokenGridInstruments.OnRequestFinished"/>.</summary>
/// <param name="Model">The model.</param>
/// <param name="Outcome"><c>succeeded</c>, <c>failed</c>, <c>cancelled</c> or <c>rejected</c>.</param>
/// <param name="Reason">
/// A stable code: the finish reason (<c>stop</c>, <c>length</c>) when it succeeded, the rejection code when rejected,
/// <c>tenant</c>, <c>client_disconnected</c> or <c>ended_with_request</c> (a sibling choice was refused or failed) when cancelled, <c>timed_out</c>, <c>interrupted</c> or <c>error</c>
/// when it failed.
/// </param>
/// <param name="Latency">From submission to the end.</param>
/// <param name="TimeToFirstToken">From submission to the first token; null when none came.</param>
/// <param name="InterTokenLatency">Mean time between output tokens after the first; null with fewer than two tokens.</param>
public sealed record RequestEnd(
    string Model, string Outcome, string Reason, TimeSpan? Latency, TimeSpan? TimeToFirstToken, TimeSpan? InterTokenLatency);

/// <summary>A node's load at one report, for <see cref="TokenGridInstruments.OnNodeLoad"/>.</summary>
/// <param name="Node">Node id (<c>{silo}/{device}</c>).</param>
/// <param name="TokensPerSecond">Tokens generated per second over the last 10 seconds.</param>
/// <param name="MemoryUsedBytes">Estimated bytes of the loaded models.</param>
/// <param name="MemoryBudgetBytes">Bytes the node may spend on models; 0: unlimited.</param>
/// <param name="Models">Each loaded model's engine.</param>
/// <param name="FailedModels">The models the node serves whose latest load failed (it does not advertise them); null: none.</param>
public sealed record NodeLoad(
    string Node, double TokensPerSecond, long MemoryUsedBytes, long MemoryBudgetBytes, IReadOnlyList<ModelLoad> Models, IReadOnlyList<string>? FailedModels = null);

/// <summary>One loaded model's engine on a node.</summary>
/// <param name="Model">The model.</param>
/// <param name="Running">Sequences decoding or prefilling.</param>
/// <param name="Waiting">Sequences in the engine's queue.</param>
/// <param name="BatchSize">Sequences in the latest decode step.</param>
/// <param name="MaxBatchSize">Batch capacity.</param>
/// <param name="KvCacheUsedBytes">Key/value cache the running sequences may fill (at full context).</param>
/// <param name="PrefixCache">The engine's prefix cache counters (monotonic while the model stays loaded); null: none.</param>
/// <param name="DecodeLanes">Model runs (lanes of rows of similar length) of the latest decode step.</param>
/// <param name="KvCacheAllocatedBytes">Bytes the running batch's key/value cache buffers hold (both copies, as allocated).</param>
/// <param name="KvCacheLimitBytes">Bytes the engine's admission keeps that cache to.</param>
public sealed record ModelLoad(
    string Model, int Running, int Waiting, int BatchSize, int MaxBatchSize, long KvCacheUsedBytes, PrefixCacheSnapshot? PrefixCache = null, int DecodeLanes = 0,
    long KvCacheAllocatedBytes = 0, long KvCacheLimitBytes = 0)
{
    /// <summary>Fraction of the cache's sequence slots in use.</summary>
    public double KvCacheUsage => MaxBatchSize == 0 ? 0 : Math.Min(1.0, (double)Running / MaxBatchSize);
}
