using Microsoft.Extensions.Diagnostics.HealthChecks;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.Hosting;

/// <summary>Startup probe: the silo has started and the model catalog is loaded.</summary>
internal sealed class StartupHealthCheck(StartupState state) : IHealthCheck
{
    public const string Tag = "startup";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.Started ? HealthCheckResult.Healthy("Silo started, catalog loaded.") : HealthCheckResult.Unhealthy("Starting."));
}

/// <summary>
/// Readiness probe: this silo serves at least one model, is an active cluster member and at least one node has reported.
/// </summary>
internal sealed class ReadinessHealthCheck(
    StartupState state, ModelCatalog catalog, IClusterMembershipService membership, ILocalSiloDetails silo, IGrainFactory grains) : IHealthCheck
{
    public const string Tag = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!state.Started)
        {
            return HealthCheckResult.Unhealthy("Starting.");
        }

        if (catalog.Models.Count == 0)
        {
            return HealthCheckResult.Unhealthy(
                $"No configured model could be read: {string.Join("; ", catalog.Failures.Select(f => $"{f.Name}: {f.Reason}"))}");
        }

        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        if (status != SiloStatus.Active)
        {
            return HealthCheckResult.Unhealthy($"The silo is {status}, not active.");
        }

        var nodes = await grains.GetGrain<INodeRegistryGrain>(0).ListAsync();
        return nodes.Count > 0
            ? HealthCheckResult.Healthy($"{nodes.Count} node(s) reporting.")
            : HealthCheckResult.Unhealthy("No node has reported yet.");
    }
}
