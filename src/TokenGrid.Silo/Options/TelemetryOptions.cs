using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Silo.Options;

/// <summary>Metrics and traces (section <see cref="SectionName"/>); docs/metrics.md lists every series.</summary>
public sealed class TelemetryOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Telemetry";

    /// <summary>
    /// Collect TokenGrid's, Orleans', ASP.NET Core's and the runtime's meters and serve them for Prometheus at
    /// <c>/metrics</c>. Default: true.
    /// </summary>
    public bool Metrics { get; set; } = true;

    /// <summary>
    /// Trace requests: Orleans' activity propagation through grain calls, so TokenGrid's, Orleans' and ASP.NET Core's
    /// spans form one trace per request for the OTLP exporter (or any in-process listener). Setting
    /// <see cref="OtlpExportOptions.Endpoint"/> turns it on too. Default: false.
    /// </summary>
    public bool Tracing { get; set; }

    /// <summary>Whether traces are on: <see cref="Tracing"/>, or an OTLP endpoint to send them to.</summary>
    public bool TracingEnabled => Tracing || Otlp.Endpoint is not null;

    /// <summary>The service name on every series and span (<c>service.name</c>). Default: <c>tokengrid</c>.</summary>
    public string ServiceName { get; set; } = "tokengrid";

    /// <summary>Where to send spans over OTLP; with no endpoint nothing is exported. Default: none.</summary>
    public OtlpExportOptions Otlp { get; set; } = new();

    /// <summary>Which tenants get budget series of their own (section <c>TokenGrid:Telemetry:TenantSeries</c>).</summary>
    public TenantSeriesOptions TenantSeries { get; set; } = new();

    /// <inheritdoc />
    public string? Validate() =>
        string.IsNullOrWhiteSpace(ServiceName) ? "the service name must not be empty."
        : Otlp.Endpoint is { IsAbsoluteUri: false } ? "the OTLP endpoint must be an absolute URI."
        : TenantSeries.Validate();
}

/// <summary>The OTLP trace exporter.</summary>
public sealed class OtlpExportOptions
{
    /// <summary>
    /// The collector, e.g. <c>http://otel-collector:4317</c> (gRPC) or <c>http://otel-collector:4318</c> (HTTP); for
    /// HTTP the path <c>/v1/traces</c> is added. Default: none (the exporter is off).
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>OTLP transport. Default: <see cref="OtlpTransport.Grpc"/>.</summary>
    public OtlpTransport Protocol { get; set; } = OtlpTransport.Grpc;

    /// <summary>Headers for the collector, as <c>key=value,key2=value2</c> (e.g. an API key). Default: none.</summary>
    public string? Headers { get; set; }
}

/// <summary>OTLP transports.</summary>
public enum OtlpTransport
{
    /// <summary>OTLP over gRPC (usually port 4317).</summary>
    Grpc,

    /// <summary>OTLP over HTTP with protobuf bodies (usually port 4318).</summary>
    HttpProtobuf,
}
