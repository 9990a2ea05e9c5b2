using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// The latest report of every node (one activation, key 0). Reports older than
/// <see cref="NodeOptions.ReportLifetime"/> count as gone: their node stopped reporting. So do the nodes of a silo that
/// membership declared dead (or that is stopping), at once: a killed silo's nodes leave within the membership timeout.
/// </summary>
/// <remarks>
/// Queries are read-only and interleave; each is one pass over the latest reports (a few hundred bytes per node),
/// so one registry serves fleets of hundreds of nodes. Dispatchers should cache its answers per model for a report
/// period rather than ask per job.
/// The state is in memory only, on purpose: every node re-reports each period, so a new activation (after a silo
/// failure) knows the whole fleet again within one period, and persisting load figures would only slow reports.
/// </remarks>
public sealed class NodeRegistryGrain(IOptions<NodeOptions> options, TimeProvider timeProvider, IClusterMembershipService membership)
    : Grain, INodeRegistryGrain
{
    private readonly Dictionary<string, NodeReport> _reports = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task ReportAsync(NodeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);

        // Reports can arrive out of order; only a newer one replaces the latest.
        if (!_reports.TryGetValue(report.NodeId, out var latest) || latest.ReportedAt <= report.ReportedAt)
        {
            _reports[report.NodeId] = report;
        }

        RemoveStale();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RemoveAsync(string nodeId)
    {
        _reports.Remove(nodeId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<NodeReport>> ListAsync()
    {
        var cutoff = Cutoff();
        IReadOnlyList<NodeReport> live = [.. _reports.Values.Where(r => IsLive(r, cutoff)).OrderBy(r => r.NodeId, StringComparer.Ordinal)];
        return Task.FromResult(live);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<NodeReport>> ListForModelAsync(string model)
    {
        var cutoff = Cutoff();
        IReadOnlyList<NodeReport> nodes =
        [
            .. _reports.Values
                .Where(r => IsLive(r, cutoff) && !r.Draining
                    && (r.Models.Contains(model, StringComparer.Ordinal) || r.LoadableModels.Contains(model, StringComparer.Ordinal)))
                .OrderByDescending(r => r.Models.Contains(model, StringComparer.Ordinal))
                .ThenBy(r => r.NodeId, StringComparer.Ordinal),
        ];
        return Task.FromResult(nodes);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LabelSupply>> SupplyByLabelAsync()
    {
        var cutoff = Cutoff();
        return Task.FromResult(LabelSupplies.Sum(_reports.Values.Where(r => IsLive(r, cutoff))));
    }

    private bool IsLive(NodeReport report, DateTimeOffset cutoff) => report.ReportedAt >= cutoff && !membership.IsGone(report.Silo);

    private DateTimeOffset Cutoff() => timeProvider.GetUtcNow() - options.Value.ReportLifetime;

    private void RemoveStale()
    {
        var cutoff = Cutoff();
        foreach (var (nodeId, report) in _reports)
        {
            if (!IsLive(report, cutoff))
            {
                _reports.Remove(nodeId);
            }
        }
    }
}
