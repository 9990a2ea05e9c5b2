using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Metrics and traces (see <see cref="TelemetryOptions"/>): TokenGrid's, Orleans', ASP.NET Core's and the runtime's
/// meters exported for Prometheus at <c>/metrics</c>, and, when tracing is on, one trace per request through the grains,
/// exported over OTLP when an endpoint is set. The resource names the service, the silo and the cluster.
/// </summary>
internal static class TelemetryHosting
{
    /// <summary>
    /// Meters enabled through the metrics system's rules rather than by name: TokenGrid's, Orleans' and ASP.NET Core's
    /// (hosting, Kestrel, routing, diagnostics). The rules match static meters (<see cref="MeterScope.Global"/>) and those of
    /// this host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/> (<see cref="MeterScope.Local"/>), never another
    /// host's, so hosts sharing a process (tests, benchmarks) do not export each other's series.
    /// </summary>
    public static readonly string[] HostMeters =
    [
        TokenGridInstruments.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics",
    ];

    /// <summary>
    /// Process-wide meters: the runtime's, HttpClient's and Npgsql's (connections opened, requests waiting for a
    /// connection, command durations; only the postgres profile has a pool to report).
    /// </summary>
    public static readonly string[] ProcessMeters = ["System.Runtime", "System.Net.Http", NpgsqlMeter];

    private const string NpgsqlMeter = "Npgsql";

    /// <summary>
    /// The only tags kept on Npgsql's series. Its others name the pool by its connection string (host, user, database; the
    /// password too under <c>Persist Security Info</c>) and give the server's address, and <c>/metrics</c> is served
    /// without a key; the pools are summed instead. Npgsql's observable instruments (connections open and their maximum,
    /// the prepared ratio) are not exported: reported once per pool, they would not sum without the pool's tag, and the
    /// series would show one pool's value as if it were all of them.
    /// </summary>
    private static readonly string[] NpgsqlTags = ["db.system.name", "error.type"];

    /// <summary>The name OpenTelemetry's listener registers with the metrics system.</summary>
    private const string OpenTelemetryListener = "OpenTelemetry";

    /// <summary>
    /// Activity sources traced: TokenGrid's, Orleans' application grain calls and ASP.NET Core's requests. Orleans'
    /// runtime source (membership probes, directory and other system calls) is left out: it carries nothing of a
    /// request's path and only adds spans to export.
    /// </summary>
    public static readonly string[] Sources = [TokenGridTracing.SourceName, "Microsoft.Orleans.Application", "Microsoft.AspNetCore"];

    public static WebApplicationBuilder AddTokenGridTelemetry(this WebApplicationBuilder builder, ClusterHostingOptions cluster)
    {
        var telemetry = builder.Configuration.GetValidated<TelemetryOptions>();
        var services = builder.Services;
        services.AddValidatedOptions<TelemetryOptions>();
        services.AddOptions<TenantSeriesOptions>().BindConfiguration(TenantSeriesOptions.SectionName);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TokenGridInstruments>();
        if (!telemetry.Metrics && !telemetry.TracingEnabled)
        {
            return builder;
        }

        var otel = services.AddOpenTelemetry().ConfigureResource(resource => resource
            .AddService(telemetry.ServiceName, serviceInstanceId: cluster.EffectiveSiloName)
            .AddAttributes(
            [
                new("tokengrid.silo", cluster.EffectiveSiloName),
                new("tokengrid.cluster", cluster.ClusterId),
                new("tokengrid.service_id", cluster.ServiceId),
            ]));
        if (telemetry.Metrics)
        {
            otel.WithMetrics(metrics => metrics.AddMeter(ProcessMeters)
                .AddView(instrument => instrument.Meter.Name != NpgsqlMeter ? null
                    : instrument.IsObservable ? MetricStreamConfiguration.Drop
                    : new MetricStreamConfiguration { TagKeys = NpgsqlTags })
                .AddPrometheusExporter());
            services.AddMetrics(rules =>
            {
                foreach (var meter in HostMeters)
                {
                    rules.EnableMetrics(meter, instrumentName: null, OpenTelemetryListener, MeterScope.Global | MeterScope.Local);
                }
            });
        }

        if (telemetry.TracingEnabled)
        {
            builder.UseOrleans(silo => silo.AddActivityPropagation());
            if (telemetry.Otlp.Endpoint is { } endpoint)
            {
                otel.WithTracing(tracing => tracing.AddSource(Sources).AddOtlpExporter(otlp =>
                {
                    var http = telemetry.Otlp.Protocol == OtlpTransport.HttpProtobuf;
                    otlp.Protocol = http ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    otlp.Endpoint = http ? new Uri(endpoint, "v1/traces") : endpoint;
                    otlp.Headers = telemetry.Otlp.Headers;
                }));
            }
        }

        return builder;
    }

    /// <summary>Maps <c>/metrics</c> when metrics are on.</summary>
    public static WebApplication MapTokenGridTelemetry(this WebApplication app)
    {
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TelemetryOptions>>().Value.Metrics)
        {
            app.MapPrometheusScrapingEndpoint();
        }

        return app;
    }
}
