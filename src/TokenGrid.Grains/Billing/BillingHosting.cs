using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TokenGrid.Grains.Billing;

/// <summary>Registers what the billing grains (rate card, subsidy programs) need.</summary>
public static class BillingHosting
{
    /// <summary>
    /// Adds <see cref="SubsidyOptions"/> (validated at start) and the system <see cref="TimeProvider"/> unless one is
    /// registered. The grains keep their state in the grain storage named <see cref="TokenGridStorage.Name"/>.
    /// </summary>
    public static IServiceCollection AddTokenGridBilling(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddValidatedOptions<SubsidyOptions>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
