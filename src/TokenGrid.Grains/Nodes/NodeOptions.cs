using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Grains.Nodes;

/// <summary>The devices a silo runs models on, what they serve, and how its nodes report (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Nodes": {
///   "Devices": [ "cpu0", "cpu1" ], "IntraOpThreads": 1,
///   "Models": [ "demo", "phi" ], "MemoryBudgetBytes": 4000000000,
///   "Labels": { "region": "west", "pool": "shared" },
///   "DeviceLabels": { "cpu1": { "pool": "batch" } },
///   "Engine": { "MaxBatchSize": 64 } } }
/// </code>
/// </example>
public sealed class NodeOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Nodes";

    /// <summary>The device a silo gets when none is configured.</summary>
    public const string DefaultDevice = "cpu0";

    /// <summary>
    /// Devices of this silo, one node each, every node with its own engines and ONNX Runtime sessions: <c>cpuN</c> runs
    /// on the CPU, <c>gpuN</c> on CUDA device N with <see cref="Provider"/>. Default: <c>["cpu0"]</c> (applied when the
    /// list is empty after binding, because binding appends to a pre-filled list).
    /// </summary>
    public List<string> Devices { get; set; } = [];

    /// <summary>
    /// Execution provider of <c>gpuN</c> devices: <c>auto</c> (CUDA, else the CPU with the reason reported),
    /// <c>cuda</c> (CUDA or fail at startup) or <c>cpu</c>. Default: <see cref="ExecutionProviderPreference.Auto"/>.
    /// </summary>
    public ExecutionProviderPreference Provider { get; set; } = ExecutionProviderPreference.Auto;

    /// <summary>How often each node reports its load to the registry. Default: 2 seconds.</summary>
    public TimeSpan ReportPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A node whose latest report is older than this many report periods counts as gone. Default: 3.</summary>
    public int StaleAfterPeriods { get; set; } = 3;

    /// <summary>
    /// A node whose load of a model failed (a broken or removed folder, files changed under the silo, ONNX Runtime refusing
    /// the graph) stops advertising the model, so no job is placed there for it; this long after the failure it loads the
    /// model again in the background (when it fits without unloading another) and advertises it once that succeeds.
    /// Default: 1 minute.
    /// </summary>
    public TimeSpan FailedLoadRetry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// ONNX Runtime intra-op threads per engine; 0 lets ONNX Runtime choose (one per physical core, shared by every
    /// engine of the silo). With several CPU nodes in one silo, 1 gives each engine exactly one compute thread (its
    /// decode thread runs the graph itself), so N nodes use N cores without oversubscribing them; ONNX Runtime does
    /// not pin threads to cores, the OS spreads them. Default: 0.
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// The nice value of a CPU model's ONNX Runtime intra-op pool, 0 to 19. Above 0, the silo's serving threads (HTTP,
    /// grains, the SSE writes) take a core from the pool as soon as they wake rather than waiting for its time slice: a
    /// request's admission and its stream's hops then wait less, and the next request joins the batch sooner (measured:
    /// fuller batches, but no established gain in throughput, since a displaced pool thread leaves the step's other
    /// thread spinning; see silo-config/README.md). The pool keeps every core the rest of the time. The engine's decode thread keeps the silo's value: it
    /// runs .NET code that may start thread-pool threads, which would inherit a higher value. Inside a container or a
    /// systemd unit the value orders only the silo's own threads; other workloads are weighed by their cgroups. CUDA
    /// devices keep 0. 0 runs the pool as the silo's other threads. Default: 10.
    /// </summary>
    public int CpuModelThreadNice { get; set; } = 10;

    /// <summary>
    /// Rewrite each model's graph at load so that prefill computes its logits at the last prompt position only, the one
    /// it reads (see <c>LastPositionLogits</c> in TokenGrid.Inference); a graph the rewrite does not recognise runs as
    /// exported, and the engine logs why. False runs every graph as exported. Default: true.
    /// </summary>
    public bool LastPositionLogits { get; set; } = true;

    /// <summary>Per-device overrides of <see cref="IntraOpThreads"/> (<c>DeviceIntraOpThreads:cpu1 = 2</c>). Default: none.</summary>
    public Dictionary<string, int> DeviceIntraOpThreads { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Names of the catalog's models (<c>TokenGrid:Models:Entries</c>) the nodes serve. Default: empty, meaning every
    /// catalog model.
    /// </summary>
    public List<string> Models { get; set; } = [];

    /// <summary>
    /// Bytes each node may spend on loaded models: weights, the running batch's key/value cache and the prefix cache (see
    /// <see cref="TokenGrid.Grains.Catalog.ModelMemory"/>). Loading a model past it first unloads the least recently used idle
    /// ones; a model whose full batch at full context does not fit the whole budget loads with the key/value cache the
    /// budget leaves, its engine queueing the sequences that would pass it; a model that cannot hold one sequence at full
    /// context is refused with the reason. 0: unlimited. Default: unset, which gives each CPU node an equal share of the
    /// container's memory limit less <see cref="ContainerMemory.ReserveBytes"/> (768 MiB and a tenth of the limit), and no
    /// budget where the silo has no limit and on GPU nodes (whose models are in device memory).
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }

    /// <summary>
    /// Load the served models when the silo starts, in configuration order, as long as they fit the budget without
    /// unloading another; the others load on first use. False: every model loads on first use. Default: true.
    /// </summary>
    public bool Preload { get; set; } = true;

    /// <summary>Labels of every node of this silo (region, zone, accelerator, pool); placement constraints match them. Default: none.</summary>
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Per-device labels (<c>DeviceLabels:cpu1:pool = batch</c>), added to <see cref="Labels"/> and replacing a label of
    /// the same key. Default: none.
    /// </summary>
    public Dictionary<string, Dictionary<string, string>> DeviceLabels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How long a sequence's next chunk may gather tokens after the previous one went out. The first token always goes
    /// at once; a model slower than this (a decode step longer than the interval) is relayed token by token; a faster one
    /// sends the tokens of several steps in one message, which divides the per-message cost of every hop behind the node
    /// (job grain, HTTP edge, SSE write) by that many. It delays a token by at most the interval, well under what a
    /// reader or a client can tell. 0 relays every step's token at once. Default: 20 ms.
    /// </summary>
    public TimeSpan StreamInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Blocks of each loaded model's prefix cache a node advertises with every report: the summaries of the most recently
    /// used ones, 8 bytes each, which its dispatchers place jobs with the same prompt prefix by. 0 advertises none (the
    /// node is then placed by load alone; its engines still use their caches). Default: 4,096.
    /// </summary>
    public int PrefixDigestBlocks { get; set; } = 4096;

    /// <summary>
    /// Prompt tokens per prefix cache block of this silo's engines, as jobs cut their prompts to ask for a node that holds
    /// them: <see cref="EngineOptions.PrefixBlockTokens"/>, or 0 when the engines' prefix cache is off.
    /// </summary>
    public int PrefixBlockTokens => Engine.PrefixCacheTokens >= Engine.PrefixBlockTokens ? Engine.PrefixBlockTokens : 0;

    /// <summary>Settings of every engine (one per device and loaded model). Default: <see cref="EngineOptions"/>' defaults.</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>How long a report stays live in the registry: <see cref="ReportPeriod"/> × <see cref="StaleAfterPeriods"/>.</summary>
    public TimeSpan ReportLifetime => ReportPeriod * StaleAfterPeriods;

    /// <summary>The labels of <paramref name="device"/>: <see cref="Labels"/> with its <see cref="DeviceLabels"/> over them.</summary>
    public IReadOnlyDictionary<string, string> LabelsOf(string device)
    {
        var labels = new Dictionary<string, string>(Labels, StringComparer.Ordinal);
        if (DeviceLabels.TryGetValue(device, out var own))
        {
            foreach (var (key, value) in own)
            {
                labels[key] = value;
            }
        }

        return labels;
    }

    /// <summary>
    /// The memory budget of <paramref name="device"/>'s node: <see cref="MemoryBudgetBytes"/> when set, else its share of
    /// <paramref name="containerLimitBytes"/> (<see cref="ContainerMemory.Limit"/>) for a CPU device, else 0 (unlimited).
    /// </summary>
    public long BudgetOf(string device, long? containerLimitBytes)
    {
        if (MemoryBudgetBytes is { } configured)
        {
            return configured;
        }

        var cpuNodes = Devices.Count(d => DeviceName.TryParse(d, out var gpu, out _) && !gpu);
        return containerLimitBytes is { } limit && DeviceName.TryParse(device, out var isGpu, out _) && !isGpu
            ? ContainerMemory.BudgetBytes(limit, cpuNodes)
            : 0;
    }

    /// <summary>The intra-op threads of <paramref name="device"/>'s engines.</summary>
    public int IntraOpThreadsOf(string device) => DeviceIntraOpThreads.TryGetValue(device, out var threads) ? threads : IntraOpThreads;

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate()
    {
        foreach (var device in Devices)
        {
            if (!DeviceName.TryParse(device, out _, out _))
            {
                return $"device '{device}' is not of the form cpuN or gpuN.";
            }
        }

        return Devices.Count == 0 ? "at least one device must be configured."
            : Devices.Distinct(StringComparer.Ordinal).Count() != Devices.Count ? "a device is configured more than once."
            : !Enum.IsDefined(Provider) ? "provider must be auto, cuda or cpu."
            : ReportPeriod <= TimeSpan.Zero ? "the report period must be positive."
            : FailedLoadRetry <= TimeSpan.Zero ? "the failed load retry must be positive."
            : StreamInterval < TimeSpan.Zero || StreamInterval > TimeSpan.FromSeconds(1) ? "the stream interval must be between 0 and 1 second."
            : StaleAfterPeriods < 1 ? "stale-after-periods must be at least 1."
            : IntraOpThreads < 0 || DeviceIntraOpThreads.Values.Any(t => t < 0) ? "intra-op threads must not be negative."
            : CpuModelThreadNice is < 0 or > ThreadNiceness.Max ? $"the CPU model threads' nice value must be between 0 and {ThreadNiceness.Max}."
            : DeviceIntraOpThreads.Keys.Concat(DeviceLabels.Keys).FirstOrDefault(d => !Devices.Contains(d)) is { } unknown
                ? $"per-device settings name '{unknown}', which is not one of the devices ({string.Join(", ", Devices)})."
            : PrefixDigestBlocks < 0 ? "prefix digest blocks must not be negative (0: none)."
            : MemoryBudgetBytes < 0 ? "the memory budget must not be negative (0: unlimited)."
            : Models.Distinct(StringComparer.Ordinal).Count() != Models.Count ? "a model is listed more than once."
            : LabelError() is { } label ? label
            : Engine.Validate() is { } engine ? $"engine: {engine}"
            : null;
    }

    private string? LabelError()
    {
        foreach (var (key, value) in Labels.Concat(DeviceLabels.Values.SelectMany(l => l)))
        {
            if (string.IsNullOrWhiteSpace(key) || key.Contains('=', StringComparison.Ordinal) || string.IsNullOrWhiteSpace(value))
            {
                return $"label '{key}={value}' needs a key without '=' and a value.";
            }
        }

        return null;
    }
}
