using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Silo.Hosting;

/// <summary>Metrics: TokenGrid's and Orleans' meters, exported for Prometheus at <c>/metrics</c>.</summary>
internal static class TelemetryHosting
{
    /// <summary>The service name on every series (<c>service_name</c>).</summary>
    public const string ServiceName = "tokengrid";

    public static IServiceCollection AddTokenGridTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<TokenGridInstruments>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
                .AddMeter(TokenGridInstruments.MeterName, "Microsoft.Orleans")
                .AddPrometheusExporter());
        return services;
    }
}
