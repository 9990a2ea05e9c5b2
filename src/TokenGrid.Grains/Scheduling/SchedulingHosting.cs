using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TokenGrid.Grains.Scheduling;

/// <summary>Registers what the per-model dispatcher grains need on a silo.</summary>
public static class SchedulingHosting
{
    /// <summary>
    /// Binds <see cref="SchedulingOptions"/> (section <c>TokenGrid:Scheduling</c>), validated at startup. Without this
    /// call the dispatchers run with the documented defaults.
    /// </summary>
    public static ISiloBuilder AddTokenGridScheduling(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddValidatedOptions<SchedulingOptions>();
        silo.Services.TryAddSingleton(TimeProvider.System);
        return silo;
    }
}
