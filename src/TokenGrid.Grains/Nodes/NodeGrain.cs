using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// One device of one silo (key: <c>{silo}/{device}</c>), placed on that silo and kept active while it runs.
/// Generation takes a lease on the model (loading it on the thread pool when needed, see <see cref="NodeModels"/>),
/// enqueues into its engine and relays the tokens; the model never runs on the grain's scheduler. A timer reports the
/// node's load to the registry every <see cref="NodeOptions.ReportPeriod"/>. What must outlive an activation (loaded
/// models, the drain flag, outstanding tokens) lives in the silo's <see cref="NodeDevice"/>.
/// </summary>
[DevicePlacement, Immovable, Reentrant]
public sealed partial class NodeGrain(
    NodeRuntime runtime,
    IOptions<NodeOptions> options,
    TokenGridInstruments instruments,
    ModelCatalog catalog,
    TimeProvider timeProvider,
    ILogger<NodeGrain> logger)
    : Grain, INodeGrain
{
    private static readonly TimeSpan s_shortWindow = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_longWindow = TimeSpan.FromSeconds(60);

    private readonly ThroughputWindow _throughput = new(s_longWindow);

    // Decode steps and the sequences in them, sampled with the tokens: their ratio is the mean batch behind the 10 s rate.
    private readonly ThroughputWindow _steps = new(s_shortWindow);
    private readonly ThroughputWindow _batched = new(s_shortWindow);
    private NodeDevice _device = null!;
    private DateTimeOffset _lastReportAt;

    private string Id => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!NodeId.TryParse(Id, out var silo, out var device)
            || !string.Equals(silo, runtime.SiloName, StringComparison.Ordinal)
            || !runtime.TryGetDevice(device, out var node))
        {
            throw new InvalidOperationException(
                $"Node '{Id}' is not a device of silo '{runtime.SiloName}' (its devices: {string.Join(", ", runtime.Devices.Select(d => d.Name))}).");
        }

        _device = node;
        var now = timeProvider.GetUtcNow();
        var models = node.Models.Snapshot();
        _throughput.Add(now, models.TokensGenerated);
        _steps.Add(now, models.DecodeSteps);
        _batched.Add(now, models.BatchedSequences);

        // A node lives as long as its silo: it must keep reporting without being asked.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        var period = options.Value.ReportPeriod;
        this.RegisterGrainTimer(ReportAsync, new GrainTimerCreationOptions(period, period) { Interleave = true, KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        instruments.OnNodeStopped(Id);
        if (reason.ReasonCode is not (DeactivationReasonCode.ShuttingDown or DeactivationReasonCode.ApplicationRequested))
        {
            // Deactivated by the runtime while the silo lives on: come back at once, since nothing else would restart the
            // reports. The call is delivered to the next activation. (A node has no directory entry to lose with another
            // silo, see DevicePlacement.IsUsingGrainDirectory.)
            GrainFactory.GetGrain<INodeGrain>(Id).StartAsync().Ignore();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartAsync() => ReportAsync(CancellationToken.None);

    /// <inheritdoc />
    public Task<NodeReport> GetReportAsync() => Task.FromResult(BuildReport(timeProvider.GetUtcNow(), _device.Models.Snapshot()));

    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        _device.Models.RetryFailed(options.Value.FailedLoadRetry);
        var models = _device.Models.Snapshot();
        var report = BuildReport(now, models);
        _throughput.Add(now, report.TokensGenerated);
        _steps.Add(now, models.DecodeSteps);
        _batched.Add(now, models.BatchedSequences);
        RecordLoad(report);
        WarnIfLate("came after its previous one by", now, _lastReportAt);
        _lastReportAt = now;
        try
        {
            await GrainFactory.GetGrain<INodeRegistryGrain>(0).ReportAsync(report);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReportFailed(logger, e, Id);
        }

        WarnIfLate("took to reach the registry", timeProvider.GetUtcNow(), now);
    }

    /// <summary>
    /// Warns when a report goes out, or reaches the registry, more than two periods after <paramref name="since"/>: the
    /// silo was held up (CPU, collections, starved threads) and dispatchers are close to counting the node as gone.
    /// </summary>
    private void WarnIfLate(string what, DateTimeOffset now, DateTimeOffset since)
    {
        var period = options.Value.ReportPeriod;
        if (since != default && now - since > 2 * period)
        {
            LogReportLate(logger, Id, what, (now - since).TotalSeconds, period.TotalSeconds, options.Value.ReportLifetime.TotalSeconds);
        }
    }

    private NodeReport BuildReport(DateTimeOffset now, NodeModelsSnapshot models)
    {
        // Steps and batched sequences are sampled together: the ratio of their growths is the exact mean batch.
        var (steps, seconds) = _steps.Growth(now, models.DecodeSteps, s_shortWindow);
        var (batched, _) = _batched.Growth(now, models.BatchedSequences, s_shortWindow);
        var failed = _device.Models.Failed;
        var advertised = failed.Count == 0 ? _device.Models.Served : _device.Models.Served.Where(m => !failed.ContainsKey(m));
        return new NodeReport
        {
            NodeId = Id,
            Silo = runtime.SiloName,
            Device = _device.Name,
            Provider = models.Provider.ToString(),
            Models = models.Loaded,
            TokensPerSecond10s = _throughput.Rate(now, models.TokensGenerated, s_shortWindow),
            TokensPerSecond60s = _throughput.Rate(now, models.TokensGenerated, s_longWindow),
            BatchSize10s = seconds > 0 && steps > 0 ? (double)batched / steps : 0,
            ActiveSequences = models.Active,
            QueuedSequences = models.Queued,
            MaxBatchSize = models.MaxBatchSize,
            TokensGenerated = models.TokensGenerated,
            ReportedAt = now,
            ProviderFallbackReason = models.ProviderFallbackReason,
            Labels = _device.Labels,
            LoadableModels = [.. advertised],
            Draining = _device.Draining,
            Drained = _device.Draining && models.Leases == 0,
            MemoryBudgetBytes = _device.Models.BudgetBytes,
            MemoryUsedBytes = models.UsedBytes,
            OutstandingTokens = _device.OutstandingTokens,
            PrefixDigests = _device.Models.PrefixDigests(options.Value.PrefixDigestBlocks),
            ModelFingerprints = failed.Count == 0 ? _device.Models.Fingerprints
                : _device.Models.Fingerprints.Where(f => !failed.ContainsKey(f.Key)).ToDictionary(StringComparer.Ordinal),
            FailedModels = failed.ToDictionary(f => f.Key, f => $"{f.Value.Reason} (at {f.Value.At:O}, {f.Value.Attempts} failed loads in a row)", StringComparer.Ordinal),
        };
    }
}
