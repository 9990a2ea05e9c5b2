using Microsoft.Extensions.Diagnostics.HealthChecks;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Silo.Hosting;

/// <summary>Startup probe: the silo has started and the model catalog is loaded.</summary>
internal sealed class StartupHealthCheck(StartupState state) : IHealthCheck
{
    public const string Tag = "startup";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.Started ? HealthCheckResult.Healthy("Silo started, catalog loaded.") : HealthCheckResult.Unhealthy("Starting."));
}

/// <summary>Readiness probe: this silo is an active cluster member and at least one node has reported.</summary>
internal sealed class ReadinessHealthCheck(
    StartupState state, IClusterMembershipService membership, ILocalSiloDetails silo, IGrainFactory grains) : IHealthCheck
{
    public const string Tag = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!state.Started)
        {
            return HealthCheckResult.Unhealthy("Starting.");
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
