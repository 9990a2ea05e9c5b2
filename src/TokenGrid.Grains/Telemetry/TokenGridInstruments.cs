using System.Diagnostics.Metrics;

namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// Every TokenGrid metric, built from one <see cref="IMeterFactory"/> under the meter <see cref="MeterName"/>.
/// Callers record through intent methods, never through the instruments. Labels are bounded: model, node,
/// reason and outcome come from configuration or fixed enums; tenants get no label here.
/// </summary>
public sealed class TokenGridInstruments
{
    /// <summary>The meter name to export.</summary>
    public const string MeterName = "TokenGrid";

    private readonly Counter<long> _tokensGenerated;
    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _admissions;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _jobsFinished;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NodeGauge> _nodes = new(StringComparer.Ordinal);

    /// <summary>Creates the instruments.</summary>
    public TokenGridInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _tokensGenerated = meter.CreateCounter<long>("tokengrid.tokens.generated", "{token}", "Tokens generated, by model and node.");
        _promptTokens = meter.CreateCounter<long>("tokengrid.tokens.prompt", "{token}", "Prompt tokens processed, by model and node.");
        _admissions = meter.CreateCounter<long>("tokengrid.admissions", "{job}", "Jobs admitted by tenant budgets.");
        _rejections = meter.CreateCounter<long>("tokengrid.rejections", "{job}", "Jobs rejected at admission, by reason.");
        _jobsFinished = meter.CreateCounter<long>("tokengrid.jobs.finished", "{job}", "Jobs ended, by model and status.");
        _timeToFirstToken = meter.CreateHistogram<double>("tokengrid.job.time_to_first_token", "s", "From submission to the first token.");
        meter.CreateObservableGauge("tokengrid.node.tokens_per_second", ObserveNodeRates, "{token}/s", "Tokens per second over the last 10 seconds, by node.");
        meter.CreateObservableGauge("tokengrid.node.active_sequences", ObserveNodeActive, "{sequence}", "Sequences decoding, by node.");
        meter.CreateObservableGauge("tokengrid.node.queued_sequences", ObserveNodeQueued, "{sequence}", "Sequences waiting for a slot, by node.");
    }

    /// <summary>A node produced tokens.</summary>
    public void OnTokensGenerated(string model, string node, int tokens) =>
        _tokensGenerated.Add(tokens, new("model", model), new("node", node));

    /// <summary>A node prefilled a prompt.</summary>
    public void OnPromptProcessed(string model, string node, int tokens) =>
        _promptTokens.Add(tokens, new("model", model), new("node", node));

    /// <summary>A tenant admitted a job.</summary>
    public void OnAdmitted(string model) => _admissions.Add(1, new KeyValuePair<string, object?>("model", model));

    /// <summary>A tenant rejected a job.</summary>
    public void OnRejected(string model, string reason) => _rejections.Add(1, new("model", model), new("reason", reason));

    /// <summary>A job ended.</summary>
    public void OnJobFinished(string model, string status, TimeSpan? timeToFirstToken)
    {
        _jobsFinished.Add(1, new("model", model), new("status", status));
        if (timeToFirstToken is { } ttft)
        {
            _timeToFirstToken.Record(ttft.TotalSeconds, new KeyValuePair<string, object?>("model", model));
        }
    }

    /// <summary>A node's load now, served on the next scrape.</summary>
    public void OnNodeLoad(string node, double tokensPerSecond, int active, int queued)
    {
        lock (_lock)
        {
            _nodes[node] = new NodeGauge(tokensPerSecond, active, queued);
        }
    }

    /// <summary>The node stopped: its series end.</summary>
    public void OnNodeStopped(string node)
    {
        lock (_lock)
        {
            _nodes.Remove(node);
        }
    }

    private IEnumerable<Measurement<double>> ObserveNodeRates() => Observe(g => g.TokensPerSecond);

    private IEnumerable<Measurement<double>> ObserveNodeActive() => Observe(g => g.Active);

    private IEnumerable<Measurement<double>> ObserveNodeQueued() => Observe(g => g.Queued);

    private List<Measurement<double>> Observe(Func<NodeGauge, double> value)
    {
        lock (_lock)
        {
            return [.. _nodes.Select(n => new Measurement<double>(value(n.Value), new KeyValuePair<string, object?>("node", n.Key)))];
        }
    }

    private readonly record struct NodeGauge(double TokensPerSecond, int Active, int Queued);
}
