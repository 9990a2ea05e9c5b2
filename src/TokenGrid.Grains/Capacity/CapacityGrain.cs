using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Capacity;

/// <summary>
/// The capacity picture (one activation, key 0); see <see cref="ICapacityGrain"/> and docs/capacity.md.
/// </summary>
/// <remarks>
/// Cost: every <see cref="CapacityOptions.SamplePeriod"/> one registry call and one call per model's dispatcher, all
/// read-only; tenants are checked only when a report is asked for and the last check is older than
/// <see cref="CapacityOptions.TenantRefreshPeriod"/>: one query of the tenant store's versions, then one read-only call
/// per tenant saved since its last read or whose period has ended (all of them once, on the first report). A report is computed from what was sampled, so a dashboard polling
/// every few seconds costs no more than the sampling. State is in memory: after a failover the new activation learns
/// the nodes' peaks and the queues' trends again from its first samples.
/// </remarks>
public sealed partial class CapacityGrain(
    IOptions<CapacityOptions> options,
    ModelCatalog catalog,
    ITenantStore tenantStore,
    TimeProvider timeProvider,
    ILogger<CapacityGrain> logger)
    : Grain, ICapacityGrain
{
    private readonly Dictionary<string, (double Rate, double Batch)> _peaks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DispatcherLoad> _loads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<(DateTimeOffset At, long Tokens)>> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, IReadOnlyList<LatencySeries> Series)> _latency = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unserved = new(StringComparer.Ordinal);
    private IReadOnlyList<NodeReport> _nodes = [];
    private DateTimeOffset _sampledAt = DateTimeOffset.MinValue;

    private CapacityOptions Options => options.Value;

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var period = Options.SamplePeriod;
        this.RegisterGrainTimer(_ => SampleAsync(), new GrainTimerCreationOptions(TimeSpan.Zero, period) { KeepAlive = true });
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task ReportLatencyAsync(string silo, IReadOnlyList<LatencySeries> series)
    {
        ArgumentException.ThrowIfNullOrEmpty(silo);
        ArgumentNullException.ThrowIfNull(series);
        _latency[silo] = (timeProvider.GetUtcNow(), series);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task NoteUnservedAsync(string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        _unserved.Add(model);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads the live nodes and every model's dispatcher: keeps each node's peak 10-second rate with the mean batch it
    /// was generated at, and each model's queued tokens over the demand window.
    /// </summary>
    private async Task SampleAsync()
    {
        // Read the clock before the registry: the sample holds what had reported by then and no later, and a report asked
        // for a sample period after it must sample again. Stamped on return, a read that waited (a busy silo) would pass
        // as fresher than its data, and a report could serve a stale rate until the next tick.
        var now = timeProvider.GetUtcNow();
        try
        {
            _nodes = await GrainFactory.GetGrain<INodeRegistryGrain>(0).ListAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSampleFailed(logger, e, "node registry");
            return;
        }

        _sampledAt = now;
        var live = _nodes.Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _peaks.Keys.Where(id => !live.Contains(id)).ToList())
        {
            _peaks.Remove(gone);
        }

        foreach (var node in _nodes)
        {
            if (node.TokensPerSecond10s > _peaks.GetValueOrDefault(node.NodeId).Rate)
            {
                _peaks[node.NodeId] = (node.TokensPerSecond10s, node.BatchSize10s);
            }
        }

        foreach (var model in ModelNames())
        {
            try
            {
                var load = await GrainFactory.GetGrain<IModelDispatcherGrain>(model).GetLoadAsync();
                _loads[model] = load;
                if (load is { Queued: 0, Running: 0 })
                {
                    _unserved.Remove(model);
                }

                if (!_queued.TryGetValue(model, out var history))
                {
                    _queued[model] = history = new Queue<(DateTimeOffset, long)>();
                }

                history.Enqueue((now, load.QueuedTokens));
                while (history.Count > 2 && history.ElementAt(1).At <= now - Options.DemandWindow)
                {
                    history.Dequeue();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSampleFailed(logger, e, "dispatcher of " + model);
            }
        }
    }

    /// <summary>
    /// The catalog's models, any model a live node reports and any whose jobs wait though no node serves it
    /// (<see cref="NoteUnservedAsync"/>), by name.
    /// </summary>
    private SortedSet<string> ModelNames()
    {
        var names = new SortedSet<string>(catalog.Models.Select(m => m.Name), StringComparer.Ordinal);
        names.UnionWith(_unserved);
        foreach (var node in _nodes)
        {
            names.UnionWith(node.Models);
            names.UnionWith(node.LoadableModels);
        }

        return names;
    }
}
