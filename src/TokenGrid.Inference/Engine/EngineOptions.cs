using System.ComponentModel.DataAnnotations;

namespace TokenGrid.Inference.Engine;

/// <summary>Settings of one inference engine (one model on one device).</summary>
public sealed class EngineOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Engine";

    /// <summary>Sequences decoded together in one batched run. Default: 32.</summary>
    [Range(1, 1024)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>Sequences that may wait for a slot; past this, submissions are told "busy". Default: 256.</summary>
    [Range(0, 100_000)]
    public int MaxQueueLength { get; set; } = 256;

    /// <summary>
    /// Bytes the running batch's key/value cache may take: both copies (the past a step reads and the present it writes),
    /// padding included, every row counted at the length it may reach (prompt + max tokens) and padded to the longest. A
    /// queued sequence that would take the batch past it waits in the queue, in its turn, until running ones leave; it is
    /// never refused for it, and a sequence alone always runs. 0: no bound but <see cref="MaxBatchSize"/> (that many
    /// sequences at the model's full context). A node with a memory budget sets it for a model whose full batch does not
    /// fit the budget (silo-config/README.md, "Memory"). Default: 0.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxKvCacheBytes { get; set; }

    /// <summary>
    /// Prompt tokens (summed over the sequences joining together) processed in one prefill run between
    /// decode steps. Longer prompts are prefilled in chunks so running sequences keep their pace. Default: 256.
    /// </summary>
    [Range(1, 1_000_000)]
    public int PrefillChunkTokens { get; set; } = 256;

    /// <summary>
    /// Threads that sample the rows of one decode step, the decode thread being one of them; 0 means one per processor.
    /// Only a step with enough sampling work (temperature, penalties, log probabilities over a large vocabulary) is
    /// spread. Default: 1.
    /// </summary>
    /// <remarks>
    /// Measured on the 2-core benchmark machine (docs/benchmarks.md, issue 14) at batch 32: two sampling threads gained
    /// at most a few percent when the machine was quiet, within run-to-run noise, and lost up to a fifth of the
    /// throughput when it was loaded (temperature 1: 0.67× greedy against 0.85× on the decode thread alone), because the
    /// second core is ONNX Runtime's intra-op thread, still spinning after the run, and whatever else the machine runs.
    /// Raise it where cores outnumber the intra-op threads.
    /// </remarks>
    [Range(0, 256)]
    public int SamplingThreads { get; set; } = 1;

    /// <summary>
    /// Prompt positions per block of the prefix cache: prompts are cached and matched in whole blocks, keyed by their
    /// tokens and everything before them. Smaller blocks match more of a prompt that differs late, at more bookkeeping
    /// per block. Default: 16.
    /// </summary>
    [Range(1, 4096)]
    public int PrefixBlockTokens { get; set; } = 16;

    /// <summary>
    /// Prompt positions the prefix cache holds (its byte budget is this × the model's key/value bytes per position, which
    /// the node counts against its memory budget); least recently used blocks are evicted first. 0 turns the cache off.
    /// Default: 16,384.
    /// </summary>
    [Range(0, 100_000_000)]
    public int PrefixCacheTokens { get; set; } = 16_384;

    /// <summary>
    /// Decode runs a step may take: the running batch is split into up to this many lanes of rows of similar length, each
    /// run over a cache padded only to its own longest row, when that saves more padded positions than
    /// <see cref="DecodeLaneSplitPositions"/> per further run. 1 runs the whole batch at once, every row padded to the
    /// longest. Default: 4.
    /// </summary>
    /// <remarks>
    /// Exported decoders read and write every cached position of every row each step, padding included, so in one run a
    /// single long conversation makes every short one in the batch pay for its length: on the demo model, one row of
    /// 2,000 positions among 31 of 16 made a step of 32 rows 8.6× as long (docs/benchmarks.md, issue 14).
    /// </remarks>
    [Range(1, 16)]
    public int MaxDecodeLanes { get; set; } = 4;

    /// <summary>
    /// Padded positions (rows × positions, summed over the cache) a further decode run must save to be worth what it
    /// costs. Unset: the model's weight bytes over 5 × its key/value bytes per position, at least 256 (a further run reads
    /// the weights again and has fixed costs of its own; exported attention goes over a padded position about six times a
    /// step). Default: unset.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int? DecodeLaneSplitPositions { get; set; }

    /// <summary>Name of the decode thread, for diagnostics. Default: "tokengrid-engine".</summary>
    public string ThreadName { get; set; } = "tokengrid-engine";

    /// <summary>
    /// Re-lay the key/value cache out with ONNX Runtime's tensor copies even where it is host memory, as device
    /// memory requires; lets the CPU exercise the CUDA path. Default: false.
    /// </summary>
    internal bool CopyCacheThroughRuntime { get; init; }

    /// <summary>A copy of every setting, under another decode thread name (one engine of a node's many).</summary>
    public EngineOptions Named(string threadName)
    {
        var copy = (EngineOptions)MemberwiseClone();
        copy.ThreadName = threadName;
        return copy;
    }

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate()
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true)
            ? null
            : string.Join("; ", results.Select(r => r.ErrorMessage));
    }
}
