using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TokenGrid.Grains.Ledger;

namespace TokenGrid.Grains.Billing.Statements;

/// <summary>Registers statements.</summary>
public static class StatementsHosting
{
    /// <summary>
    /// Adds the <see cref="StatementBook"/> and, unless a store is registered already (the PostgreSQL one), the
    /// <see cref="InMemoryStatementStore"/> over the in-memory ledger.
    /// </summary>
    public static IServiceCollection AddTokenGridStatements(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<InMemoryLedgerStore>();
        services.TryAddSingleton<IStatementStore, InMemoryStatementStore>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StatementBook>();
        return services;
    }
}
