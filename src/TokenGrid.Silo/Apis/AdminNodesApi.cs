using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Silo.Apis;

/// <summary>The cluster's nodes and their live load: <c>GET /admin/nodes</c>.</summary>
internal static class AdminNodesApi
{
    public static RouteGroupBuilder MapAdminNodesApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/nodes", ListNodesAsync).WithTags("Admin").WithName("ListNodes")
            .WithSummary("Live nodes: device, provider, models, tokens per second, active and queued sequences.");
        return admin;
    }

    internal static async Task<Ok<ListPage<NodeReport>>> ListNodesAsync(IGrainFactory grains) =>
        TypedResults.Ok(new ListPage<NodeReport>(await grains.GetGrain<INodeRegistryGrain>(0).ListAsync(), false, null));
}
