using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TokenGrid.Grains.Audit;

/// <summary>Registers the audit log.</summary>
public static class AuditHosting
{
    /// <summary>
    /// Adds the in-memory <see cref="IAuditLog"/> unless one is registered already (the PostgreSQL storage registers its
    /// own, whichever comes first) and the system <see cref="TimeProvider"/> unless one is.
    /// </summary>
    public static IServiceCollection AddTokenGridAudit(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IAuditLog, InMemoryAuditLog>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
