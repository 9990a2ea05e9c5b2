using System.Globalization;
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
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return capacity;
    }

    /// <summary>
    /// <c>tenant_tpm</c>: the tenant size for the headroom in tenants (default from configuration); <c>top</c>: how many
    /// tenants to list by usage.
    /// </summary>
    internal static async Task<Results<Ok<CapacityReport>, ProblemHttpResult>> GetCapacityAsync(
        HttpRequest request, IGrainFactory grains, IOptions<CapacityOptions> options)
    {
        var settings = options.Value;
        if (!TryRead(request, "tenant_tpm", 1, MaxTenantTokensPerMinute, settings.DefaultTenantTokensPerMinute, out var tpm, out var problem)
            || !TryRead(request, "top", 1, settings.MaxTop, settings.DefaultTop, out var top, out problem))
        {
            return ApiProblems.Result(problem!);
        }

        var report = await grains.GetGrain<ICapacityGrain>(0).GetReportAsync(new CapacityQuery(tpm, (int)top));
        return TypedResults.Ok(report);
    }

    private static bool TryRead(HttpRequest request, string name, long min, long max, long fallback, out long value, out ApiProblem? problem)
    {
        problem = null;
        value = fallback;
        var values = request.Query[name];
        if (values.Count == 0)
        {
            return true;
        }

        if (values.Count > 1 || !long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            problem = ApiProblems.BadRequest(
                string.Create(CultureInfo.InvariantCulture, $"The query parameter '{name}' must be one whole number from {min} to {max}."),
                "invalid_query_parameter", name);
            return false;
        }

        return true;
    }
}
