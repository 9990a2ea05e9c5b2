using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// The latest report of every node (one activation, key 0). Reports older than
/// <see cref="NodeOptions.ReportLifetime"/> count as gone: their node stopped reporting. So do the nodes of a silo that
/// membership declared dead (or that is stopping), at once: a killed silo's nodes leave within the membership timeout.
/// </summary>
/// <remarks>
/// Queries are read-only and interleave; each is one pass over the latest reports (a few hundred bytes per node, plus
/// for a dispatcher its model's prefix digest: 8 bytes per advertised block, see <see cref="NodeOptions.PrefixDigestBlocks"/>),
/// so one registry serves fleets of hundreds of nodes. Dispatchers should cache its answers per model for a report
/// period rather than ask per job. Other views get no digests.
/// The state is in memory only, on purpose: every node re-reports each period, so a new activation (after a silo
/// failure) knows the whole fleet again within one period, and persisting load figures would only slow reports.
/// </remarks>
public sealed class NodeRegistryGrain(IOptions<NodeOptions> options, TimeProvider timeProvider, IClusterMembershipService membership)
    : Grain, INodeRegistryGrain
{
    private static readonly IReadOnlyDictionary<string, PrefixDigest> s_noDigests = new Dictionary<string, PrefixDigest>();

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
    public Task<IReadOnlyList<NodeReport>> ListAsync() => Task.FromResult(Live(_ => s_noDigests));

    /// <inheritdoc />
    public Task<IReadOnlyList<NodeReport>> ListForDispatcherAsync(string model) =>
        Task.FromResult(Live(r => r.PrefixDigests.TryGetValue(model, out var digest)
            ? new Dictionary<string, PrefixDigest>(StringComparer.Ordinal) { [model] = digest }
            : s_noDigests));

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

    /// <summary>The live reports by node id, each with the digests <paramref name="digests"/> keeps of its own.</summary>
    private IReadOnlyList<NodeReport> Live(Func<NodeReport, IReadOnlyDictionary<string, PrefixDigest>> digests)
    {
        var cutoff = Cutoff();
        return
        [
            .. _reports.Values.Where(r => IsLive(r, cutoff)).OrderBy(r => r.NodeId, StringComparer.Ordinal)
                .Select(r => r.PrefixDigests.Count == 0 ? r : r with { PrefixDigests = digests(r) }),
        ];
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
