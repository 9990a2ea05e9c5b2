using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// The models of one node: which are loaded, loading them on demand and unloading the least recently used idle one
/// when the memory budget needs room. Sessions load on thread-pool threads; callers only await. Concurrent requests
/// for a model being loaded share that load. A model with a lease out (a sequence waiting for it, queued or running)
/// is never unloaded: a model that cannot fit without unloading one in use is refused with the reason, so the
/// dispatcher can place the job elsewhere or queue it where the queue is visible, rather than it waiting inside the
/// node. Owned by <see cref="NodeDevice"/>, so it outlives node grain activations. Thread-safe.
/// </summary>
public sealed partial class NodeModels : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CatalogModel> _served;
    private readonly Dictionary<string, NodeModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FailedLoad> _failed = new(StringComparer.Ordinal);
    private readonly List<Task> _unloads = [];
    private readonly Func<CatalogModel, long, (DecoderModel Decoder, InferenceEngine Engine)> _load;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _clock;
    private long _retiredTokens;
    private long _retiredSteps;
    private long _retiredBatched;
    private int _leases;
    private int _loads;
    private bool _stopped;
    private ExecutionProviderKind _provider;
    private string? _fallbackReason;

    internal NodeModels(
        string nodeId,
        IReadOnlyList<CatalogModel> served,
        long budgetBytes,
        int maxBatchSize,
        (int Tokens, int BlockTokens) prefixCache,
        ExecutionProviderKind expectedProvider,
        long kvCacheLimitBytes,
        Func<CatalogModel, long, (DecoderModel Decoder, InferenceEngine Engine)> load,
        ILogger logger,
        TimeProvider? timeProvider = null)
    {
        NodeId = nodeId;
        Served = [.. served.Select(m => m.Name)];
        _served = served.ToDictionary(m => m.Name, StringComparer.Ordinal);
        Fingerprints = served.ToDictionary(m => m.Name, m => m.Fingerprint, StringComparer.Ordinal);
        BudgetBytes = budgetBytes;
        MaxBatchSize = maxBatchSize;
        PrefixCache = prefixCache;
        KvCacheLimitBytes = kvCacheLimitBytes;
        _provider = expectedProvider;
        _load = load;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The node id: <c>{silo}/{device}</c>.</summary>
    public string NodeId { get; }

    /// <summary>The models the node can load, in configuration order.</summary>
    public IReadOnlyList<string> Served { get; }

    /// <summary>Bytes the loaded models may take; 0: unlimited.</summary>
    public long BudgetBytes { get; }

    /// <summary>Batch capacity of one engine.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Each engine's configured key/value cache budget (<see cref="EngineOptions.MaxKvCacheBytes"/>); 0: the full batch.</summary>
    public long KvCacheLimitBytes { get; }

    /// <summary>Each engine's prefix cache: the prompt positions it may hold, in blocks of <c>BlockTokens</c>.</summary>
    public (int Tokens, int BlockTokens) PrefixCache { get; }

    /// <summary>Models loaded since the node started (each load counts once, however many requests shared it).</summary>
    public int Loads => Volatile.Read(ref _loads);

    /// <summary>The fingerprint of each model the node can load, by name (<see cref="CatalogModel.Fingerprint"/>).</summary>
    public IReadOnlyDictionary<string, string> Fingerprints { get; }

    /// <summary>
    /// The models whose latest load failed, by name: why, when, and how many loads in a row failed. The node leaves them
    /// out of the models it advertises until a load succeeds (<see cref="RetryFailed"/>), so dispatchers place no job
    /// there for them.
    /// </summary>
    public IReadOnlyDictionary<string, FailedLoad> Failed
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, FailedLoad>(_failed, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// Takes a lease on <paramref name="model"/>, loading it first when needed. Null with the reason when the node does
    /// not serve the model, serves it from files other than those of <paramref name="fingerprint"/> (when given), it cannot
    /// fit under the budget, or its load failed.
    /// </summary>
    public async Task<(ModelLease? Lease, string? Refusal)> AcquireAsync(string model, string? fingerprint = null)
    {
        if (!_served.TryGetValue(model, out var served))
        {
            return (null, $"Node '{NodeId}' does not serve model '{model}' (it serves {string.Join(", ", Served)}).");
        }

        if (fingerprint is not null && !string.Equals(fingerprint, served.Fingerprint, StringComparison.Ordinal))
        {
            return (null, $"Node '{NodeId}' serves model '{model}' from other files (fingerprint {served.Fingerprint}) than the job's ({fingerprint}).");
        }

        NodeModel entry;
        lock (_lock)
        {
            if (_stopped)
            {
                return (null, $"Node '{NodeId}' is stopping.");
            }

            if (!_models.TryGetValue(model, out entry!))
            {
                if (_failed.TryGetValue(model, out var failed))
                {
                    // It stopped advertising the model, but a dispatcher that has not seen its report since placed a job
                    // here: refuse it at once rather than read the same broken files again (RetryFailed tries them).
                    return (null, $"Node '{NodeId}' could not load model '{model}' ({failed.Attempts} failed loads in a row, the "
                        + $"latest at {failed.At:O}; it tries again on its own): {failed.Reason}");
                }

                if (Plan(served, allowUnload: true, out var refusal) is not { } planned)
                {
                    return (null, refusal);
                }

                entry = planned;
            }

            entry.Users++;
            entry.LastUsed = ++_clock;
            _leases++;
        }

        try
        {
            await entry.Ready;
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _leases--;
            }

            return (null, $"Node '{NodeId}' could not load model '{model}': {e.Message}");
        }

        return (new ModelLease(this, entry), null);
    }

    /// <summary>The engine of a loaded model.</summary>
    public bool TryGetEngine(string model, [NotNullWhen(true)] out InferenceEngine? engine)
    {
        lock (_lock)
        {
            engine = _models.TryGetValue(model, out var entry) ? entry.Engine : null;
            return engine is not null;
        }
    }

    /// <summary>What the node's models hold and do now.</summary>
    public NodeModelsSnapshot Snapshot()
    {
        lock (_lock)
        {
            long tokens = _retiredTokens, steps = _retiredSteps, batched = _retiredBatched, used = 0;
            int active = 0, queued = 0, batch = 0;
            var loaded = new List<string>(_models.Count);
            foreach (var name in Served)
            {
                if (!_models.TryGetValue(name, out var entry))
                {
                    continue;
                }

                used += entry.Bytes;
                if (entry.Engine is not { } engine)
                {
                    queued += entry.Users; // waiting for the load
                    continue;
                }

                var stats = engine.Statistics.Snapshot();
                (tokens, active, queued, batch) = (tokens + stats.TokensGenerated, active + stats.ActiveSequences, queued + stats.QueuedSequences, batch + MaxBatchSize);
                (steps, batched) = (steps + stats.DecodeSteps, batched + stats.BatchedSequences);
                loaded.Add(name);
            }

            return new NodeModelsSnapshot(
                [.. loaded], used, tokens, active, queued, _leases, batch == 0 ? MaxBatchSize : batch, _provider, _fallbackReason, steps, batched);
        }
    }

    /// <summary>
    /// What each loaded model's prefix cache holds, for the node's report: the summaries of at most
    /// <paramref name="max"/> blocks per model, most recently used first (<see cref="InferenceEngine.PrefixDigest"/>).
    /// Models whose cache is off or empty are left out; so is everything when <paramref name="max"/> is 0.
    /// </summary>
    public Dictionary<string, PrefixDigest> PrefixDigests(int max)
    {
        var digests = new Dictionary<string, PrefixDigest>(StringComparer.Ordinal);
        if (max <= 0)
        {
            return digests;
        }

        List<(string Name, InferenceEngine Engine)> engines;
        lock (_lock)
        {
            engines = [.. _models.Values.Where(m => m.Engine is not null).Select(m => (m.Name, m.Engine!))];
        }

        // Outside the lock: each cache takes its own, and the models' bookkeeping need not wait for it.
        foreach (var (name, engine) in engines)
        {
            if (engine.PrefixBlockTokens > 0 && engine.PrefixDigest(max) is { Count: > 0 } blocks)
            {
                digests[name] = new PrefixDigest(engine.PrefixBlockTokens, [.. blocks]);
            }
        }

        return digests;
    }

    /// <summary>Returns a lease (see <see cref="ModelLease.Release"/>).</summary>
    internal void Return(NodeModel model)
    {
        lock (_lock)
        {
            model.Users--;
            model.LastUsed = ++_clock;
            _leases--;
        }
    }
}

/// <summary>A model's failed load on a node.</summary>
/// <param name="Reason">Why, in one line (the load's error).</param>
/// <param name="At">When the latest load failed.</param>
/// <param name="Attempts">Loads that failed in a row.</param>
public sealed record FailedLoad(string Reason, DateTimeOffset At, int Attempts);

/// <summary>A node's models at one moment.</summary>
/// <param name="Loaded">Loaded models, in configuration order.</param>
/// <param name="UsedBytes">Estimated bytes of the models loaded or being loaded.</param>
/// <param name="TokensGenerated">Tokens generated since the node started, unloaded engines included.</param>
/// <param name="Active">Sequences decoding or prefilling.</param>
/// <param name="Queued">Sequences in the engines' queues or waiting for their model to load.</param>
/// <param name="Leases">Sequences holding a model: waiting, queued or running (0: nothing to drain).</param>
/// <param name="MaxBatchSize">Batch capacity of the loaded engines; one engine's when none is loaded.</param>
/// <param name="Provider">The execution provider of the latest load (the expected one before any).</param>
/// <param name="ProviderFallbackReason">Why CUDA was not used where asked for, otherwise null.</param>
/// <param name="DecodeSteps">Decode steps of the engines since the node started, unloaded engines included.</param>
/// <param name="BatchedSequences">Sum of the batch sizes of those steps (mean batch = this / steps).</param>
public sealed record NodeModelsSnapshot(
    string[] Loaded, long UsedBytes, long TokensGenerated, int Active, int Queued, int Leases, int MaxBatchSize,
    ExecutionProviderKind Provider, string? ProviderFallbackReason, long DecodeSteps, long BatchedSequences);
