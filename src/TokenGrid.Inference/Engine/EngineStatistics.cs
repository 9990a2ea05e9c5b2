namespace TokenGrid.Inference.Engine;

/// <summary>
/// Counters the decode loop keeps so a node can report throughput. Monotonic counters only grow;
/// readers take deltas between snapshots. Written by the decode thread, read from any thread.
/// </summary>
public sealed class EngineStatistics
{
    private long _tokensGenerated;
    private long _promptTokens;
    private long _decodeSteps;
    private long _decodeRuns;
    private long _prefillRuns;
    private long _batchedSequences;
    private long _decodeTicks;
    private long _prefillTicks;
    private long _rejectedBusy;
    private long _completed;
    private long _forked;
    private long _prefixLookups;
    private long _prefixHits;
    private long _prefixCachedTokens;
    private long _prefixEvictions;
    private long _prefixBlocks;
    private long _prefixBytes;
    private int _activeSequences;
    private int _queuedSequences;
    private int _lastBatchSize;
    private int _lastDecodeRuns;
    private long _heapTrims;

    /// <summary>A consistent-enough copy of the counters.</summary>
    public EngineSnapshot Snapshot() => new(
        Interlocked.Read(ref _tokensGenerated),
        Interlocked.Read(ref _promptTokens),
        Interlocked.Read(ref _decodeSteps),
        Interlocked.Read(ref _prefillRuns),
        Interlocked.Read(ref _batchedSequences),
        TimeSpan.FromTicks(Interlocked.Read(ref _decodeTicks)),
        TimeSpan.FromTicks(Interlocked.Read(ref _prefillTicks)),
        Interlocked.Read(ref _rejectedBusy),
        Interlocked.Read(ref _completed),
        Volatile.Read(ref _activeSequences),
        Volatile.Read(ref _queuedSequences),
        Volatile.Read(ref _lastBatchSize),
        Interlocked.Read(ref _forked),
        new PrefixCacheSnapshot(
            Interlocked.Read(ref _prefixLookups),
            Interlocked.Read(ref _prefixHits),
            Interlocked.Read(ref _prefixCachedTokens),
            Interlocked.Read(ref _prefixEvictions),
            Interlocked.Read(ref _prefixBlocks),
            Interlocked.Read(ref _prefixBytes)))
    {
        DecodeRuns = Interlocked.Read(ref _decodeRuns),
        LastDecodeRuns = Volatile.Read(ref _lastDecodeRuns),
    };

    internal void OnDecodeStep(int batchSize, int runs, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _decodeSteps);
        Interlocked.Add(ref _decodeRuns, runs);
        Interlocked.Add(ref _batchedSequences, batchSize);
        Interlocked.Add(ref _decodeTicks, elapsed.Ticks);
        Volatile.Write(ref _lastBatchSize, batchSize);
        Volatile.Write(ref _lastDecodeRuns, runs);
    }

    internal void OnPrefill(int promptTokens, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _prefillRuns);
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _prefillTicks, elapsed.Ticks);
    }

    internal void OnTokens(int count) => Interlocked.Add(ref _tokensGenerated, count);

    /// <summary>Times the idle engine trimmed the C heap (see <see cref="Runtime.NativeHeap"/>).</summary>
    internal long HeapTrims => Interlocked.Read(ref _heapTrims);

    internal void OnHeapTrimmed() => Interlocked.Increment(ref _heapTrims);

    /// <summary>A sequence looked its prompt up in the prefix cache and found <paramref name="cachedTokens"/> of it.</summary>
    internal void OnPrefixLookup(int cachedTokens)
    {
        Interlocked.Increment(ref _prefixLookups);
        if (cachedTokens > 0)
        {
            Interlocked.Increment(ref _prefixHits);
            Interlocked.Add(ref _prefixCachedTokens, cachedTokens);
        }
    }

    internal void OnPrefixEvicted(int blocks) => Interlocked.Add(ref _prefixEvictions, blocks);

    internal void SetPrefixHeld(long blocks, long bytes)
    {
        Interlocked.Exchange(ref _prefixBlocks, blocks);
        Interlocked.Exchange(ref _prefixBytes, bytes);
    }

    internal void OnForked() => Interlocked.Increment(ref _forked);

    internal void OnBusy() => Interlocked.Increment(ref _rejectedBusy);

    internal void OnCompleted() => Interlocked.Increment(ref _completed);

    /// <summary>
    /// A sequence the engine had taken ended: one fewer active until the loop sets the occupancy again. The last one
    /// empties the batch at once, before its caller can see its end (called on the decode thread, like the steps).
    /// </summary>
    internal void OnSequenceEnded()
    {
        int active;
        do
        {
            active = Volatile.Read(ref _activeSequences);
        }
        while (active > 0 && Interlocked.CompareExchange(ref _activeSequences, active - 1, active) != active);

        if (active <= 1)
        {
            OnNoDecodeStep();
        }
    }

    /// <summary>The loop ran no decode step: the batch is empty, so an idle engine reads 0, not its last busy step.</summary>
    internal void OnNoDecodeStep()
    {
        Volatile.Write(ref _lastBatchSize, 0);
        Volatile.Write(ref _lastDecodeRuns, 0);
    }

    internal void SetOccupancy(int active, int queued)
    {
        Volatile.Write(ref _activeSequences, active);
        Volatile.Write(ref _queuedSequences, queued);
    }
}

/// <summary>Engine counters at one moment.</summary>
/// <param name="TokensGenerated">Tokens sampled, all sequences.</param>
/// <param name="PromptTokens">Prompt tokens prefilled.</param>
/// <param name="DecodeSteps">Decode steps: each runs the whole batch once, in one model run per lane (<see cref="DecodeRuns"/>).</param>
/// <param name="PrefillRuns">Prefill runs (chunks).</param>
/// <param name="BatchedSequences">Sum of batch sizes over decode steps (mean batch = this / steps).</param>
/// <param name="DecodeTime">Time spent in decode runs.</param>
/// <param name="PrefillTime">Time spent in prefill runs.</param>
/// <param name="RejectedBusy">Submissions refused because the queue was full.</param>
/// <param name="Completed">Sequences finished for any reason.</param>
/// <param name="ActiveSequences">Sequences in the batch or prefilling now.</param>
/// <param name="QueuedSequences">Sequences waiting for a slot now.</param>
/// <param name="LastBatchSize">Sequences in the decode batch: the latest decode step's, 0 once no sequence is left to decode (an idle engine reads 0).</param>
/// <param name="ForkedSequences">Sequences that joined by copying a sibling's prompt cache instead of prefilling it (<see cref="GenerationRequest.ForkKey"/>).</param>
/// <param name="PrefixCache">The prefix cache's counters; null only in snapshots made by hand.</param>
public sealed record EngineSnapshot(
    long TokensGenerated,
    long PromptTokens,
    long DecodeSteps,
    long PrefillRuns,
    long BatchedSequences,
    TimeSpan DecodeTime,
    TimeSpan PrefillTime,
    long RejectedBusy,
    long Completed,
    int ActiveSequences,
    int QueuedSequences,
    int LastBatchSize,
    long ForkedSequences = 0,
    PrefixCacheSnapshot? PrefixCache = null)
{
    /// <summary>Model runs of the decode steps: one per lane of each step (see <c>EngineOptions.MaxDecodeLanes</c>).</summary>
    public long DecodeRuns { get; init; }

    /// <summary>Model runs (lanes) of the latest decode step; 0, like <see cref="LastBatchSize"/>, once the batch is empty.</summary>
    public int LastDecodeRuns { get; init; }

    /// <summary>Mean sequences per decode step.</summary>
    public double MeanBatchSize => DecodeSteps == 0 ? 0 : (double)BatchedSequences / DecodeSteps;

    /// <summary>Mean time of one decode step.</summary>
    public TimeSpan MeanStepTime => DecodeSteps == 0 ? TimeSpan.Zero : DecodeTime / DecodeSteps;
}

/// <summary>The prefix cache's counters at one moment (<see cref="EngineOptions.PrefixCacheTokens"/>).</summary>
/// <param name="Lookups">Sequences whose prompt was looked up (monotonic).</param>
/// <param name="Hits">Lookups that found at least one block (monotonic).</param>
/// <param name="CachedTokens">Prompt tokens taken from the cache instead of being prefilled: the prefill saved (monotonic).</param>
/// <param name="Evictions">Blocks evicted to make room (monotonic).</param>
/// <param name="Blocks">Blocks held now.</param>
/// <param name="Bytes">Bytes of keys and values held now.</param>
public sealed record PrefixCacheSnapshot(long Lookups, long Hits, long CachedTokens, long Evictions, long Blocks, long Bytes)
{
    /// <summary>Hits over lookups; 0 before any lookup.</summary>
    public double HitRate => Lookups == 0 ? 0 : (double)Hits / Lookups;
}
