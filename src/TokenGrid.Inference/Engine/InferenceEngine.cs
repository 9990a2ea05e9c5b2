using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Continuous-batching decoder engine for one model on one device. A dedicated thread runs the decode
/// loop; callers only enqueue and await. Between steps, queued sequences are prefilled (in chunks) and
/// join the batch; every active sequence then decodes in one batched run; finished or cancelled
/// sequences leave at the next step boundary and free their slot. The admission queue is bounded:
/// a full queue answers <see cref="SubmitStatus.Busy"/> at once instead of building a backlog.
/// </summary>
public sealed partial class InferenceEngine : IAsyncDisposable
{
    private readonly DecoderModel _model;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DecoderRunner _runner;
    private readonly HashSet<int> _eos;

    /// <summary>The model's vocabulary for constrained decoding, built on the first request with a constraint.</summary>
    private readonly Lazy<Constraints.TokenVocabulary> _vocabulary;
    private readonly LinkedList<Sequence> _queue = new();
    private readonly Lock _queueLock = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly BatchSampler _sampler;
    private readonly bool _rowsAreShared;
    private List<Sequence> _active = [];

    // Sequences forking from a running sibling, merged into the batch at the next re-layout.
    private readonly List<Sequence> _joining = [];
    private PrefillGroup? _prefill;
    private readonly Action<int, int> _fillLane;
    private readonly long _laneSplitPositions;
    private readonly Prefix.PrefixCache? _prefixCache;
    private readonly KvBudget _kvBudget;
    private bool _stopping;
    private volatile bool _abort;

    // Set by a prefill (every sequence starts with one); cleared when the idle engine gives its memory back.
    private bool _workedSinceIdle;

    /// <summary>Starts an engine (and its decode thread) over a loaded model. The caller keeps owning the model.</summary>
    public InferenceEngine(DecoderModel model, EngineOptions? options = null, ILogger<InferenceEngine>? logger = null, TimeProvider? time = null)
    {
        _model = model;
        _options = options ?? new EngineOptions();
        if (_options.Validate() is { } invalid)
        {
            throw new ArgumentException($"Invalid engine options: {invalid}", nameof(options));
        }

        _logger = logger ?? NullLogger<InferenceEngine>.Instance;
        _time = time ?? TimeProvider.System;
        _runner = new DecoderRunner(model, _options.CopyCacheThroughRuntime);
        _eos = [.. model.Config.EosTokenIds];
        _fillLane = FillLane;
        _laneSplitPositions = _options.DecodeLaneSplitPositions ?? DefaultLaneSplitPositions(model.WeightBytes, _runner.Cache.BytesPerPosition);
        _kvBudget = new KvBudget(_options.MaxKvCacheBytes, _runner.Cache.BytesPerPosition, _options.MaxBatchSize, model.Config.ContextLength);
        _runner.Cache.Bound(_kvBudget.PositionsPerCopy, _options.MaxDecodeLanes);
        _vocabulary = new Lazy<Constraints.TokenVocabulary>(() =>
        {
            // Special tokens are never constrained output; the end ids are allowed apart, once a value is complete.
            var special = model.Tokenizer.SpecialTokens.Values.ToHashSet();
            return Constraints.TokenVocabulary.Build(model.Config.VocabSize, id => special.Contains(id) ? null : model.Tokenizer.TokenBytes(id));
        });
        _sampler = new BatchSampler(_runner.LogitsWidth, _options.SamplingThreads > 0 ? _options.SamplingThreads : Environment.ProcessorCount);
        // Float16 rows are converted into one shared buffer of the runner, so they are sampled one at a time.
        _rowsAreShared = model.Signature.LogitsType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float;
        if (_options.PrefixCacheTokens >= _options.PrefixBlockTokens)
        {
            var cache = _runner.Cache;
            _prefixCache = new Prefix.PrefixCache(
                cache, _runner.Memory, model.Signature.PastNames.Count, cache.Planes, cache.Heads, _options.PrefixBlockTokens,
                _options.PrefixCacheTokens / _options.PrefixBlockTokens, Statistics);
        }

        _thread = new Thread(RunLoop) { IsBackground = true, Name = _options.ThreadName };
        _thread.Start();
        LogStarted(model.Name, model.Provider, model.ProviderFallbackReason ?? "none", _options.MaxBatchSize, _options.MaxQueueLength, model.ThreadNice, _options.MaxDecodeLanes, _laneSplitPositions);
        if (model.ThreadNiceFailure is { } niceFailure)
        {
            LogThreadNiceFailed(model.Name, niceFailure);
        }

        if (model.EveryPositionLogitsReason is { } everyPosition)
        {
            LogEveryPositionLogits(model.Name, everyPosition);
        }

        foreach (var note in model.LoadNotes)
        {
            if (note.Kind == ModelNoteKind.Ignored)
            {
                LogSettingIgnored(model.Name, note.ToString());
            }
            else
            {
                LogValueDefaulted(model.Name, note.ToString());
            }
        }
    }

    /// <summary>Padded positions a further decode run must save (see <see cref="EngineOptions.DecodeLaneSplitPositions"/>).</summary>
    public long LaneSplitPositions => _laneSplitPositions;

    /// <summary>The runner of the decode thread (for tests).</summary>
    internal DecoderRunner Runner => _runner;

    /// <summary>Called on the decode thread each time the engine has given its memory back on falling idle (for tests).</summary>
    internal Action? Idled { get; set; }

    /// <summary>The model this engine runs.</summary>
    public DecoderModel Model => _model;

    /// <summary>Counters for throughput reporting.</summary>
    public EngineStatistics Statistics { get; } = new();

    /// <summary>
    /// Bytes the running batch's key/value cache may take (both copies; <see cref="EngineOptions.MaxKvCacheBytes"/>, or the
    /// full batch at full context): admission keeps the batch under it.
    /// </summary>
    public long KvCacheLimitBytes => _kvBudget.LimitBytes;

    /// <summary>
    /// Bytes the running batch's key/value cache buffers hold now (both copies, as allocated; they keep their size
    /// between batches), without the prefix cache. Read from any thread.
    /// </summary>
    public long KvCacheBytes => _runner.Memory.AllocatedBytes - (_prefixCache?.PoolBytes ?? 0);

    /// <summary>Prompt positions per prefix cache block; 0 when the prefix cache is off.</summary>
    public int PrefixBlockTokens => _prefixCache?.BlockTokens ?? 0;

    /// <summary>
    /// What the prefix cache holds, for the dispatcher: the 64-bit summaries (<see cref="Prefix.PrefixBlockHash.Summary"/>)
    /// of at most <paramref name="max"/> blocks, most recently used first. Empty when the cache is off.
    /// </summary>
    public IReadOnlyList<ulong> PrefixDigest(int max) => _prefixCache?.Digest(max) ?? [];

    /// <summary>
    /// Queues a sequence. Returns at once: <see cref="SubmitStatus.Accepted"/> with the token stream,
    /// <see cref="SubmitStatus.Busy"/> when the queue is full, <see cref="SubmitStatus.Invalid"/> with a
    /// reason for a request this model cannot run (empty prompt, ids outside the model's vocabulary, a
    /// prompt that fills the context, bad sampling values), or <see cref="SubmitStatus.Stopped"/>.
    /// </summary>
    public SubmitResult Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Validate(request) is { } error)
        {
            return SubmitResult.Invalid(error);
        }

        var context = _model.Config.ContextLength;
        var maxNew = Math.Min(request.MaxTokens, context - request.PromptTokens.Count);
        var sequence = new Sequence(
            request, maxNew, _model.Tokenizer, _eos, _time, request.Constraint is null ? null : _vocabulary.Value, _prefixCache is null ? 0 : _options.PrefixBlockTokens);
        if (sequence.EndedBeforeResuming || maxNew < 1)
        {
            // Generating would add a token the first run never produced: it ends as that run did, by stop, with none. A
            // resumed constrained run with no tokens left (its first run produced max_tokens, then lost its ending) ends
            // by stop when the value is complete, else by length.
            sequence.Finish(sequence.EndedBeforeResuming ? FinishReason.Stop : FinishReason.Length, null, _time.GetTimestamp());
            Statistics.OnCompleted();
            return new SubmitResult(SubmitStatus.Accepted, sequence.Stream, null);
        }

        sequence.Registration = cancellationToken.Register(
            static state =>
            {
                var (engine, queued) = ((InferenceEngine, Sequence))state!;
                engine.Cancel(queued);
            },
            (this, sequence));
        lock (_queueLock)
        {
            var refusal = _stopping ? SubmitStatus.Stopped
                : _queue.Count >= _options.MaxQueueLength ? SubmitStatus.Busy
                : SubmitStatus.Accepted;
            if (refusal != SubmitStatus.Accepted)
            {
                sequence.Registration.Dispose();
                if (refusal == SubmitStatus.Busy)
                {
                    Statistics.OnBusy();
                }

                return new SubmitResult(refusal, null, refusal == SubmitStatus.Busy
                    ? $"The admission queue of model '{_model.Name}' is full ({_options.MaxQueueLength} waiting)."
                    : $"The engine for model '{_model.Name}' is stopping.");
            }

            sequence.QueueNode = _queue.AddLast(sequence);
        }

        _signal.Release();
        return new SubmitResult(SubmitStatus.Accepted, sequence.Stream, null);
    }

    /// <summary>
    /// Stops accepting work. With <paramref name="drain"/>, everything already accepted (queued or running)
    /// finishes first; without, it ends as <see cref="FinishReason.Failed"/>.
    /// </summary>
    public Task StopAsync(bool drain)
    {
        lock (_queueLock)
        {
            _stopping = true;
        }

        if (!drain)
        {
            _abort = true;
        }

        _signal.Release();
        return _exited.Task;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(drain: false);
        _prefixCache?.Dispose();
        _runner.Dispose();
        _signal.Dispose();
    }

    /// <summary>
    /// A resumed run under an output constraint: it may ask for no tokens at all, when its first run produced max_tokens
    /// and lost its ending, since only the constraint, rebuilt from those tokens, tells whether that run ended by stop.
    /// </summary>
    private static bool ResumesConstrained(GenerationRequest request) => request.Constraint is not null && request.ResumedOutputTokens > 0;

    private string? Validate(GenerationRequest request)
    {
        var prompt = request.PromptTokens;
        var config = _model.Config;
        return prompt is null || prompt.Count == 0 ? "The prompt is empty."
            : _model.FirstUnembeddableToken(prompt) is { } bad
                ? $"Token id {bad} is outside the vocabulary of model '{config.Name}' ({config.VocabSize} ids); the tokenizer and the model disagree."
            : prompt.Count >= config.ContextLength
                ? $"The prompt has {prompt.Count} tokens; model '{config.Name}' has a context of {config.ContextLength}, which leaves no room to generate."
            : request.MaxTokens < (ResumesConstrained(request) ? 0 : 1) ? "max_tokens must be at least 1."
            : request.MinTokens < 0 ? "min_tokens must not be negative."
            : request.TopLogprobs is < 0 or > LogprobCalculator.MaxTop ? $"top_logprobs must be between 0 and {LogprobCalculator.MaxTop}."
            : request.ResumedOutputTokens < 0 || request.ResumedOutputTokens >= prompt.Count
                ? "The resumed output tokens must be fewer than the prompt tokens."
            : FirstOutside(request.StopTokenIds) is { } stopId
                ? $"Stop token id {stopId} is outside the vocabulary of model '{config.Name}' ({_runner.LogitsWidth} ids)."
            : FirstOutside(request.Sampling.LogitBias?.Keys ?? []) is { } biasId
                ? $"logit_bias token id {biasId} is outside the vocabulary of model '{config.Name}' ({_runner.LogitsWidth} ids)."
            : request.Sampling.Validate();
    }

    private int? FirstOutside(IEnumerable<int> ids)
    {
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_runner.LogitsWidth)
            {
                return id;
            }
        }

        return null;
    }

    private void Cancel(Sequence sequence)
    {
        sequence.RequestCancel();
        var wasQueued = false;
        lock (_queueLock)
        {
            if (sequence.QueueNode is { List: not null } node)
            {
                _queue.Remove(node);
                sequence.QueueNode = null;
                wasQueued = true;
            }
        }

        if (wasQueued)
        {
            // It never reached the decode thread: finish it here, freeing its queue place.
            sequence.Finish(FinishReason.Cancelled, null, _time.GetTimestamp());
            Statistics.OnCompleted();
        }

        _signal.Release();
    }

    /// <summary>
    /// What a further decode run costs, in padded positions: it reads the weights once more and has fixed costs of its own
    /// (ONNX Runtime's per-run work, its threads' hand-offs), while exported attention goes over a padded position about six
    /// times a step (the past read and written into the present, the keys read and written by their transpose, keys and
    /// values read by the attention). The weights over five times a position's bytes matches where a split broke even on
    /// the demo model (about 2,800 padded positions; this gives 2,763; docs/benchmarks.md, "decode lanes").
    /// </summary>
    internal static long DefaultLaneSplitPositions(long weightBytes, long bytesPerPosition) =>
        Math.Max(256, weightBytes / (5 * Math.Max(1, bytesPerPosition)));
}
