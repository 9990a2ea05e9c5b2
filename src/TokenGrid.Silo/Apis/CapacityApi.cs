using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Grains.Capacity;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The cluster's capacity for planners: <c>GET /v1/capacity</c>, behind the planner or admin key (or a dashboard
/// session). The figures and their math: docs/capacity.md.
/// </summary>
internal static class CapacityApi
{
    /// <summary>Largest tenant size accepted, in tokens per minute.</summary>
    public const long MaxTenantTokensPerMinute = 1_000_000_000_000;

    public static RouteGroupBuilder MapCapacityApi(this RouteGroupBuilder capacity)
    {
        capacity.MapGet("/", GetCapacityAsync).WithTags("Capacity").WithName("GetCapacity")
            .WithSummary("Per model: demand (requested tokens/s, queue depth and wait), supply (tokens/s, measured capacity flagged when only a lower bound, utilization, slots) and headroom (tokens/s and tenants at tenant_tpm, null while unknown; free slots); nodes with the batch their peak was measured at; latency percentiles; top tenants by usage; tenants on track to exhaust their quota early.")
            .Documents(
                ("tenant_tpm", true, "The tenant size, in tokens per minute, that the headroom in tenants is counted in. Default: configured."),
                ("top", true, "How many tenants to list by usage. Default: configured."))
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return capacity;
    }

    /// <summary>
    /// <c>tenant_tpm</c>: the tenant size for the headroom in tenants (default from configuration); <c>top</c>: how many
    /// tenants to list by usage; any other parameter is refused.
    /// </summary>
    internal static async Task<Ok<CapacityReport>> GetCapacityAsync(
        HttpRequest request, IGrainFactory grains, IOptions<CapacityOptions> options)
    {
        var settings = options.Value;
        var tpm = QueryValues.Integer(request, "tenant_tpm", 1, MaxTenantTokensPerMinute) ?? settings.DefaultTenantTokensPerMinute;
        var top = QueryValues.Integer(request, "top", 1, settings.MaxTop) ?? settings.DefaultTop;
        var report = await grains.GetGrain<ICapacityGrain>(0).GetReportAsync(new CapacityQuery(tpm, (int)top));
        return TypedResults.Ok(report);
    }
}
