using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TokenGrid.Grains.Capacity;

/// <summary>Registers the capacity view's parts on a silo.</summary>
public static class CapacityHosting
{
    /// <summary>
    /// Binds <see cref="CapacityOptions"/> (section <c>TokenGrid:Capacity</c>, validated at startup), adds this silo's
    /// <see cref="LatencyRecorder"/> and the reporter that sends its histograms to the capacity grain.
    /// </summary>
    public static IServiceCollection AddTokenGridCapacity(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddValidatedOptions<CapacityOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<LatencyRecorder>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, LatencyReporter>();
        return services;
    }
}
