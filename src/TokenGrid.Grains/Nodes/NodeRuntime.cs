using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Models;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// This silo's devices and their engines (one per device and model). The engines start with the silo (stage
/// <see cref="ServiceLifecycleStage.ApplicationServices"/>, before any grain runs) and drain when it stops, after
/// the grains have gone. Node grains only enqueue into these engines and await; the decode loops run on the engines'
/// own threads. Singleton.
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
    private readonly List<DecoderModel> _ownedModels = [];
    private readonly List<InferenceEngine> _engines = [];
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
        InferenceEngine[] engines;
        lock (_lock)
        {
            engines = [.. _engines];
        }

        try
        {
            await Task.WhenAll(engines.Select(e => e.StopAsync(drain: true))).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogDrainAbandoned(_logger, engines.Length);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops every engine at once (sequences still running end as failed) and frees the models it loaded.</summary>
    public async ValueTask DisposeAsync()
    {
        InferenceEngine[] engines;
        DecoderModel[] models;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            engines = [.. _engines];
            models = [.. _ownedModels];
        }

        foreach (var engine in engines)
        {
            await engine.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var model in models)
        {
            model.Dispose();
        }
    }

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started)
            {
                return Task.CompletedTask;
            }

            _started = true;
            var settings = options.Value;
            var devices = new Dictionary<string, NodeDevice>(StringComparer.Ordinal);
            var catalogCpuModelsUsed = false;
            foreach (var device in settings.Devices)
            {
                DeviceName.TryParse(device, out var isGpu, out var ordinal);
                var engines = new List<(string, InferenceEngine)>(catalog.Models.Count);
                foreach (var model in catalog.Models)
                {
                    var loaded = isGpu || catalogCpuModelsUsed ? Load(model, isGpu, ordinal, settings) : model.CpuModel;
                    engines.Add((model.Name, StartEngine(loaded, device, model.Name, settings.Engine)));
                }

                // The catalog's CPU models serve the first CPU device; further devices load their own sessions.
                catalogCpuModelsUsed |= !isGpu;
                var node = new NodeDevice(device, NodeId.Of(SiloName, device), engines, settings.Engine.MaxBatchSize);
                devices.Add(device, node);
                LogDeviceStarted(_logger, node.NodeId, node.Provider, node.ProviderFallbackReason ?? "none", string.Join(", ", node.Models));
            }

            _devices = devices;
        }

        return Task.CompletedTask;
    }

    private DecoderModel Load(CatalogModel model, bool isGpu, int ordinal, NodeOptions settings)
    {
        var loaded = DecoderModel.Load(model.Directory, new ModelLoadOptions
        {
            ExecutionProvider = isGpu ? settings.Provider : ExecutionProviderPreference.Cpu,
            DeviceId = isGpu ? ordinal : 0,
            IntraOpThreads = settings.IntraOpThreads,
        });
        _ownedModels.Add(loaded);
        return loaded;
    }

    private InferenceEngine StartEngine(DecoderModel model, string device, string modelName, EngineOptions template)
    {
        var engine = new InferenceEngine(
            model,
            new EngineOptions
            {
                MaxBatchSize = template.MaxBatchSize,
                MaxQueueLength = template.MaxQueueLength,
                PrefillChunkTokens = template.PrefillChunkTokens,
                ThreadName = $"{template.ThreadName}-{device}-{modelName}",
            },
            loggerFactory.CreateLogger<InferenceEngine>(),
            timeProvider);
        _engines.Add(engine);
        return engine;
    }
}
