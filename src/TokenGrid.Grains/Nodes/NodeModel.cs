using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// One model on one node, from the moment its load is decided until it is unloaded. Its fields change only under the
/// owning <see cref="NodeModels"/>' lock.
/// </summary>
internal sealed class NodeModel(CatalogModel catalog, long bytes, long kvCacheBytes = 0)
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CatalogModel Catalog { get; } = catalog;

    public string Name => Catalog.Name;

    /// <summary>Estimated bytes, counted against the budget from the moment the load is decided.</summary>
    public long Bytes { get; } = bytes;

    /// <summary>The engine's key/value cache budget (<see cref="EngineOptions.MaxKvCacheBytes"/>), part of <see cref="Bytes"/>; 0: the full batch.</summary>
    public long KvCacheBytes { get; } = kvCacheBytes;

    /// <summary>Completes when the engine runs; faults when the load failed.</summary>
    public Task Ready => _ready.Task;

    public DecoderModel? Decoder { get; private set; }

    public InferenceEngine? Engine { get; private set; }

    /// <summary>True once the engine runs.</summary>
    public bool IsLoaded => Engine is not null;

    /// <summary>Leases held: sequences waiting for the load, queued or running. Never unloaded while above 0.</summary>
    public int Users { get; set; }

    /// <summary>The node's use clock at the last lease taken or returned: the least recent goes first.</summary>
    public long LastUsed { get; set; }

    public void SetLoaded(DecoderModel decoder, InferenceEngine engine)
    {
        Decoder = decoder;
        Engine = engine;
    }

    public void SetReady() => _ready.TrySetResult();

    public void SetFailed(Exception error) => _ready.TrySetException(error);
}

/// <summary>
/// A sequence's hold on a loaded model: while held, the model stays loaded. Returned once, when the sequence has left
/// its engine (or never reached it). Thread-safe.
/// </summary>
public sealed class ModelLease
{
    private readonly NodeModels _owner;
    private int _released;

    internal ModelLease(NodeModels owner, NodeModel model)
    {
        _owner = owner;
        Model = model;
    }

    /// <summary>The loaded model's engine.</summary>
    public InferenceEngine Engine => Model.Engine!;

    internal NodeModel Model { get; }

    /// <summary>Returns the hold; later calls do nothing.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Return(Model);
        }
    }
}
