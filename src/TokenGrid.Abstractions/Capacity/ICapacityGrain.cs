namespace TokenGrid.Abstractions.Capacity;

/// <summary>
/// The cluster's capacity picture for planners (one activation, key 0): supply from the node registry, demand from the
/// per-model dispatchers, usage and burn-down from the tenants, latency from every silo. It samples the registry and
/// the dispatchers every couple of seconds (so it knows each node's peak rate and each queue's trend) and reads the
/// tenants at most once per refresh period, so a dashboard polling it costs the cluster next to nothing.
/// </summary>
public interface ICapacityGrain : IGrainWithIntegerKey
{
    /// <summary>The picture now; <paramref name="query"/> sets the tenant size for headroom and the top-tenant count.</summary>
    Task<CapacityReport> GetReportAsync(CapacityQuery query);

    /// <summary>
    /// A silo's latency histograms over the last minute (it sends them every couple of seconds); they replace the silo's
    /// previous ones.
    /// </summary>
    Task ReportLatencyAsync(string silo, IReadOnlyList<LatencySeries> series);

    /// <summary>
    /// A dispatcher's jobs wait for a model no live node serves: the picture keeps a row for the model (sampled from its
    /// dispatcher) until its queue is empty, though no node advertises it and this silo's catalog may lack it. Dispatchers
    /// say so every refresh period while it lasts, so a capacity activation started after a failover learns it too.
    /// </summary>
    [Orleans.Concurrency.OneWay]
    Task NoteUnservedAsync(string model);
}

/// <summary>What <see cref="ICapacityGrain.GetReportAsync"/> computes headroom for.</summary>
/// <param name="TenantTokensPerMinute">The size of a tenant for "how many more tenants": tokens per minute it would use.</param>
/// <param name="Top">How many tenants to list by usage.</param>
[GenerateSerializer, Immutable, Alias("tg.CapacityQuery")]
public sealed record CapacityQuery([property: Id(0)] long TenantTokensPerMinute, [property: Id(1)] int Top);

/// <summary>
/// One latency histogram of one silo over the last minute: counts per bucket of <see cref="LatencyBuckets.Bounds"/>
/// (the last bucket is everything above the last bound), their sum and count.
/// </summary>
/// <param name="Metric">The measurement, from the TokenGrid meter's instrument name (<c>time_to_first_token</c>).</param>
/// <param name="Model">The model, or empty when the measurement names none.</param>
/// <param name="Buckets">Counts per bucket (not cumulative), one more than there are bounds.</param>
/// <param name="Sum">Sum of the measurements, in seconds.</param>
[GenerateSerializer, Immutable, Alias("tg.LatencySeries")]
public sealed record LatencySeries(
    [property: Id(0)] string Metric,
    [property: Id(1)] string Model,
    [property: Id(2)] long[] Buckets,
    [property: Id(3)] double Sum)
{
    /// <summary>Measurements in the window.</summary>
    public long Count => Buckets.Sum();
}
