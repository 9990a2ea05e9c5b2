using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Nodes;

/// <summary>Sums node reports per label <c>key=value</c>.</summary>
internal static class LabelSupplies
{
    /// <summary>One row per label carried by any of <paramref name="reports"/>, ordered by key, then value.</summary>
    public static IReadOnlyList<LabelSupply> Sum(IEnumerable<NodeReport> reports)
    {
        var rows = new Dictionary<(string Key, string Value), LabelSupply>();
        foreach (var report in reports)
        {
            foreach (var (key, value) in report.Labels)
            {
                var row = rows.TryGetValue((key, value), out var found) ? found : new LabelSupply { Key = key, Value = value };
                rows[(key, value)] = row with
                {
                    Nodes = row.Nodes + 1,
                    AcceptingNodes = row.AcceptingNodes + (report.Draining ? 0 : 1),
                    TokensPerSecond10s = row.TokensPerSecond10s + report.TokensPerSecond10s,
                    ActiveSequences = row.ActiveSequences + report.ActiveSequences,
                    QueuedSequences = row.QueuedSequences + report.QueuedSequences,
                    OutstandingTokens = row.OutstandingTokens + report.OutstandingTokens,
                    MaxBatchSize = row.MaxBatchSize + report.MaxBatchSize,
                };
            }
        }

        return [.. rows.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Value, StringComparer.Ordinal)];
    }
}
