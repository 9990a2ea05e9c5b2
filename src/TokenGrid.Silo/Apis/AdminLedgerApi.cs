using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>A tenant's ledger: <c>GET /admin/tenants/{id}/ledger?after=&amp;limit=</c>, oldest first.</summary>
internal static class AdminLedgerApi
{
    public static RouteGroupBuilder MapAdminLedgerApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/tenants/{id}/ledger", GetLedgerAsync).WithTags("Admin").WithName("GetLedger")
            .WithSummary("Ledger entries after a sequence number; pass next_after as after for the next page.");
        return admin;
    }

    internal static async Task<Ok<LedgerPage>> GetLedgerAsync(string id, IGrainFactory grains, IOptions<ApiOptions> options, long? after, int? limit)
    {
        var pageSize = limit ?? options.Value.DefaultPageSize;
        if (pageSize < 1 || pageSize > options.Value.MaxPageSize || after < 0)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"limit must be between 1 and {options.Value.MaxPageSize} and after must not be negative.", "invalid_value", "limit"));
        }

        return TypedResults.Ok(await grains.GetGrain<ITenantGrain>(id).GetLedgerAsync(after ?? 0, pageSize));
    }
}
