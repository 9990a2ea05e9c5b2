using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Apis;

/// <summary>A tenant's ledger: <c>GET /admin/tenants/{id}/ledger?after=&amp;limit=</c>, oldest first.</summary>
internal static class AdminLedgerApi
{
    public static RouteGroupBuilder MapAdminLedgerApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/tenants/{id}/ledger", GetLedgerAsync).WithTags("Admin").WithName("GetLedger")
            .Documents(
                ("after", true, "The next_after of the previous page: the page of lines after that sequence number. Default: 0."),
                ("limit", true, "Lines per page. Default and maximum: configured."))
            .WithSummary("Ledger entries after a sequence number; pass next_after as after for the next page.");
        return admin;
    }

    /// <summary><c>?after=&amp;limit=</c>, read by <see cref="QueryValues"/> so a bad one is a 400 naming it.</summary>
    internal static async Task<Ok<LedgerPage>> GetLedgerAsync(string id, HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var after = QueryValues.Integer(request, "after", 0, long.MaxValue) ?? 0;
        var pageSize = (int)(QueryValues.Integer(request, "limit", 1, options.Value.MaxPageSize) ?? options.Value.DefaultPageSize);
        return TypedResults.Ok(await grains.GetGrain<ITenantGrain>(id).GetLedgerAsync(after, pageSize));
    }
}
