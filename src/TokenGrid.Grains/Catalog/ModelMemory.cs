using TokenGrid.Inference.Models;

namespace TokenGrid.Grains.Catalog;

/// <summary>
/// What a model costs a node in memory, estimated before it is loaded: the weights (the decoder file and its external
/// data, as they are on disk), the key/value cache of a full batch at full context, and the prefix cache's budget.
/// </summary>
public static class ModelMemory
{
    /// <summary>
    /// The engine keeps the cache twice (the past it reads and the present ONNX Runtime writes, swapped each step), so
    /// a full batch at full context holds two copies.
    /// </summary>
    public const int KvCopies = 2;

    /// <summary>Bytes of the decoder file <paramref name="modelPath"/> and its external data: see <see cref="DecoderModel.WeightBytesOf"/>.</summary>
    public static long WeightBytes(string modelPath) => DecoderModel.WeightBytesOf(modelPath);

    /// <summary>
    /// Bytes of one sequence's key/value cache at full context:
    /// layers × 2 (key and value) × KV heads × head size × context × element size.
    /// </summary>
    public static long KvBytesPerSequence(DecoderModelConfig config, int elementBytes) =>
        (long)config.Layers * 2 * config.KvHeads * config.HeadSize * config.ContextLength * elementBytes;

    /// <summary>
    /// Bytes of the engine's prefix cache at its budget (the engine allocates it whole on its first insert): the
    /// positions it holds, <paramref name="cacheTokens"/> in whole blocks of <paramref name="blockTokens"/>, × layers ×
    /// 2 (key and value) × KV heads × head size × element size. 0 when the cache is off (fewer tokens than one block).
    /// </summary>
    public static long PrefixCacheBytes(DecoderModelConfig config, int elementBytes, int cacheTokens, int blockTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        var positions = blockTokens < 1 || cacheTokens < blockTokens ? 0 : (long)(cacheTokens / blockTokens) * blockTokens;
        return positions * config.Layers * 2 * config.KvHeads * config.HeadSize * elementBytes;
    }

    /// <summary>
    /// The estimate for a node: <paramref name="weightBytes"/> plus <see cref="KvCopies"/> × the cache of
    /// <paramref name="maxBatchSize"/> sequences at full context, plus the prefix cache's <paramref name="prefixCacheBytes"/>.
    /// </summary>
    public static long Estimate(long weightBytes, long kvBytesPerSequence, int maxBatchSize, long prefixCacheBytes = 0) =>
        weightBytes + (KvCopies * kvBytesPerSequence * maxBatchSize) + prefixCacheBytes;

    /// <summary>
    /// What a model reserves on a node with <paramref name="budgetBytes"/> (0: unlimited): its weights, its prefix cache and
    /// the running batch's key/value cache, which is the full batch at full context, or <paramref name="kvLimitBytes"/> when
    /// configured lower, or what the budget leaves when the whole budget cannot hold more. The engine then queues the
    /// sequences that would pass it (<c>EngineOptions.MaxKvCacheBytes</c>). Null when the budget cannot hold the weights,
    /// the prefix cache and one sequence at full context (<see cref="KvCopies"/> of it).
    /// </summary>
    public static ModelFit? Fit(long budgetBytes, long weightBytes, long kvBytesPerSequence, int maxBatchSize, long prefixCacheBytes, long kvLimitBytes = 0)
    {
        var one = KvCopies * kvBytesPerSequence;
        var full = one * maxBatchSize;
        var kv = kvLimitBytes > 0 ? Math.Clamp(kvLimitBytes, Math.Min(one, full), full) : full;
        if (budgetBytes > 0 && weightBytes + prefixCacheBytes + kv > budgetBytes)
        {
            kv = budgetBytes - weightBytes - prefixCacheBytes;
        }

        return kv < one ? null : new ModelFit(weightBytes + kv + prefixCacheBytes, kv, kv < full);
    }

    /// <summary>Bytes as a short readable figure (<c>93.4 MB</c>).</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.0} KB",
        _ => $"{bytes} B",
    };
}

/// <summary>What a model reserves on a node (see <see cref="ModelMemory.Fit"/>).</summary>
/// <param name="Bytes">Counted against the node's budget: weights, key/value cache and prefix cache.</param>
/// <param name="KvCacheBytes">The running batch's key/value cache (both copies), which the engine's admission keeps to.</param>
/// <param name="Reduced">True when that is less than the full batch at full context: long sequences then queue for room.</param>
public sealed record ModelFit(long Bytes, long KvCacheBytes, bool Reduced);
