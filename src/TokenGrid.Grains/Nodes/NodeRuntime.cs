using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// This silo's devices, each with its own models, engines and ONNX Runtime sessions (see <see cref="NodeModels"/>).
/// The devices are set up with the silo (stage <see cref="ServiceLifecycleStage.ApplicationServices"/>, before any
/// grain runs), preloading what fits when <see cref="NodeOptions.Preload"/>, and drain when it stops, after the
/// grains have gone. Node grains only enqueue into the engines and await; the decode loops run on the engines' own
/// threads. Singleton.
/// </summary>
public sealed partial class NodeRuntime(
    ModelCatalog catalog,
    IOptions<NodeOptions> options,
    ILocalSiloDetails localSilo,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider)
    : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<NodeRuntime>();
    private readonly Lock _lock = new();
    private Dictionary<string, NodeDevice> _devices = [];
    private bool _started;
    private bool _disposed;

    /// <summary>This silo's name: the prefix of its node ids.</summary>
    public string SiloName => localSilo.Name;

    /// <summary>This silo's devices (empty before the silo starts).</summary>
    public IReadOnlyCollection<NodeDevice> Devices => _devices.Values;

    /// <summary>Finds a device of this silo by name (<c>cpu0</c>).</summary>
    public bool TryGetDevice(string device, [NotNullWhen(true)] out NodeDevice? node) => _devices.TryGetValue(device, out node);

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeRuntime), ServiceLifecycleStage.ApplicationServices, OnStartAsync, StopAsync);

    /// <summary>Stops taking work, lets accepted sequences finish until <paramref name="cancellationToken"/> fires, then frees the engines.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        NodeDevice[] devices;
        lock (_lock)
        {
            devices = [.. _devices.Values];
        }

        try
        {
            await Task.WhenAll(devices.Select(d => d.Models.StopAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogDrainAbandoned(_logger, devices.Length);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops every engine at once (sequences still running end as failed) and closes every session.</summary>
    public async ValueTask DisposeAsync()
    {
        NodeDevice[] devices;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            devices = [.. _devices.Values];
        }

        foreach (var device in devices)
        {
            await device.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task OnStartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return;
            }

            _started = true;
            var served = settings.Models.Count == 0
                ? catalog.Models
                : [.. catalog.Models.Where(m => settings.Models.Contains(m.Name, StringComparer.Ordinal))];
            var devices = new Dictionary<string, NodeDevice>(StringComparer.Ordinal);
            var containerLimit = settings.MemoryBudgetBytes is null ? ContainerMemory.Limit() : null;
            foreach (var device in settings.Devices)
            {
                var budget = settings.BudgetOf(device, containerLimit);
                var node = CreateDevice(device, served, settings, budget);
                devices.Add(device, node);
                LogDeviceStarted(_logger, node.NodeId, string.Join(", ", node.Models.Served), budget,
                    containerLimit is { } limit && budget > 0 ? $"an equal share of the container's limit of {ModelMemory.Format(limit)} less {ModelMemory.Format(ContainerMemory.ReserveBytes(limit))} for the silo itself"
                        : settings.MemoryBudgetBytes is not null ? "TokenGrid:Nodes:MemoryBudgetBytes"
                        : containerLimit is null ? "no container limit" : "none set, and a GPU node's models are in device memory",
                    string.Join(", ", node.Labels.Select(l => $"{l.Key}={l.Value}")));
                if (DeviceName.TryParse(device, out var isGpu, out _) && !isGpu && settings.IntraOpThreadsOf(device) > Environment.ProcessorCount)
                {
                    LogThreadsAboveCores(_logger, node.NodeId, settings.IntraOpThreadsOf(device), Environment.ProcessorCount);
                }
            }

            _devices = devices;
        }

        if (settings.Preload)
        {
            // Devices load in parallel, each on the thread pool; the silo becomes active once they are done.
            await Task.WhenAll(_devices.Values.Select(d => d.Models.PreloadAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private NodeDevice CreateDevice(string device, IReadOnlyList<CatalogModel> served, NodeOptions settings, long budgetBytes)
    {
        DeviceName.TryParse(device, out var isGpu, out var ordinal);
        var nodeId = NodeId.Of(SiloName, device);
        var load = new ModelLoadOptions
        {
            ExecutionProvider = isGpu ? settings.Provider : ExecutionProviderPreference.Cpu,
            DeviceId = isGpu ? ordinal : 0,
            IntraOpThreads = settings.IntraOpThreadsOf(device),
            CpuThreadNice = settings.CpuModelThreadNice,
            LastPositionLogits = settings.LastPositionLogits,
        };
        var expected = isGpu && settings.Provider != ExecutionProviderPreference.Cpu ? ExecutionProviderKind.Cuda : ExecutionProviderKind.Cpu;
        var models = new NodeModels(
            nodeId, served, budgetBytes, settings.Engine.MaxBatchSize,
            (settings.Engine.PrefixCacheTokens, settings.Engine.PrefixBlockTokens), expected, settings.Engine.MaxKvCacheBytes,
            (model, kvCacheBytes) => Load(model, device, load, settings.Engine, kvCacheBytes),
            loggerFactory.CreateLogger<NodeModels>(),
            timeProvider);
        return new NodeDevice(device, nodeId, settings.LabelsOf(device), models);
    }

    /// <summary>
    /// Throws when <paramref name="model"/>'s files are no longer those the catalog read when the silo started. Prompts
    /// are tokenized, templated and capped by the catalog's reading, so a node must not run other weights under it: a
    /// changed folder is refused until the silo restarts and reads it again (docs/models.md, "Rolling out a model").
    /// </summary>
    /// <exception cref="InvalidModelException">The files changed.</exception>
    internal static void EnsureUnchanged(CatalogModel model)
    {
        if (ModelFingerprint.Of(model.Directory, model.ModelPath) is var now && now != model.Fingerprint)
        {
            // The message reaches the tenant as the refusal's reason: no folder in it (the start-up line names that).
            throw new InvalidModelException(
                $"its files changed after the silo read them (fingerprint {model.Fingerprint} then, {now} now); "
                + "restart the silo to serve the new files");
        }
    }

    /// <summary>Opens <paramref name="model"/>'s session for one device and starts its engine (blocking: called on the thread pool).</summary>
    private (DecoderModel, InferenceEngine) Load(CatalogModel model, string device, ModelLoadOptions load, EngineOptions template, long kvCacheBytes)
    {
        EnsureUnchanged(model);

        // The file the catalog read (a ModelFile setting's, or the one chosen by default), so node and catalog agree.
        var decoder = DecoderModel.Load(model.Directory, load with { ModelFile = model.ModelPath });
        try
        {
            var options = template.Named($"{template.ThreadName}-{device}-{model.Name}");
            options.MaxKvCacheBytes = kvCacheBytes;
            var engine = new InferenceEngine(
                decoder,
                options,
                loggerFactory.CreateLogger<InferenceEngine>(),
                timeProvider);
            return (decoder, engine);
        }
        catch
        {
            decoder.Dispose();
            throw;
        }
    }
}
