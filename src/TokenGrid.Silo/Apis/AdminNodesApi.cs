using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The cluster's nodes and their live load: <c>GET /admin/nodes</c>, one node by id (<c>{silo}/{device}</c>), its
/// drain and resume (recorded in the audit log), and the supply per label at <c>GET /admin/capacity/labels</c>.
/// </summary>
internal static class AdminNodesApi
{
    public static RouteGroupBuilder MapAdminNodesApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/nodes", ListNodesAsync).WithTags("Admin").WithName("ListNodes")
            .WithSummary("Live nodes: device, provider, models, tokens per second, active and queued sequences.");
        var node = admin.MapGroup("/nodes/{silo}/{device}").WithTags("Admin").ProducesProblem(StatusCodes.Status404NotFound);
        node.MapGet("/", GetNodeAsync).WithName("GetNode").WithSummary("One live node's latest load.");
        node.MapPost("/drain", DrainNodeAsync).WithName("DrainNode")
            .WithSummary("No new sequences; running ones finish. 202 while they run, 200 once drained; the report says which.");
        node.MapPost("/resume", ResumeNodeAsync).WithName("ResumeNode").WithSummary("Takes new sequences again after a drain.");
        admin.MapGet("/capacity/labels", ListLabelSupplyAsync).WithTags("Admin").WithName("ListLabelSupply")
            .WithSummary("Per label key=value: supply (live and accepting nodes, tokens per second, active and queued sequences, outstanding tokens) and demand (tokens of waiting jobs that require the label).");
        return admin;
    }

    internal static async Task<Ok<ListPage<NodeReport>>> ListNodesAsync(IGrainFactory grains) =>
        TypedResults.Ok(new ListPage<NodeReport>(await grains.GetGrain<INodeRegistryGrain>(0).ListAsync(), false, null));

    internal static async Task<Ok<NodeReport>> GetNodeAsync(string silo, string device, IGrainFactory grains) =>
        TypedResults.Ok(await grains.GetGrain<INodeGrain>(await FindAsync(grains, silo, device)).GetReportAsync());

    internal static async Task<Results<Accepted<NodeReport>, Ok<NodeReport>>> DrainNodeAsync(
        string silo, string device, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var id = await FindAsync(grains, silo, device);
        var node = grains.GetGrain<INodeGrain>(id);
        var before = await node.GetReportAsync();
        await node.DrainAsync();
        var report = await node.GetReportAsync();
        await audit.RecordAsync(http, AuditActions.NodeDrain, id, before, report);
        return report.Drained ? TypedResults.Ok(report) : TypedResults.Accepted($"/admin/nodes/{id}", report);
    }

    internal static async Task<Ok<NodeReport>> ResumeNodeAsync(string silo, string device, HttpContext http, IGrainFactory grains, AdminAudit audit)
    {
        var id = await FindAsync(grains, silo, device);
        var node = grains.GetGrain<INodeGrain>(id);
        var before = await node.GetReportAsync();
        await node.ResumeAsync();
        var report = await node.GetReportAsync();
        await audit.RecordAsync(http, AuditActions.NodeResume, id, before, report);
        return TypedResults.Ok(report);
    }

    /// <summary>
    /// Supply from the registry, demand from every model's dispatcher: tokens of waiting jobs that may only run on
    /// nodes with the label. A label some tenant requires but no live node carries shows with zero supply.
    /// </summary>
    internal static async Task<Ok<ListPage<LabelSupply>>> ListLabelSupplyAsync(IGrainFactory grains, ModelCatalog catalog)
    {
        var supply = await grains.GetGrain<INodeRegistryGrain>(0).SupplyByLabelAsync();
        var demands = await Task.WhenAll(catalog.Models.Select(m => grains.GetGrain<IModelDispatcherGrain>(m.Name).GetDemandByLabelAsync()));
        var demand = demands.SelectMany(d => d).GroupBy(d => d.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(d => d.Value));
        var rows = supply.Select(s => s with { DemandTokens = demand.GetValueOrDefault(s.Label) }).ToList();
        foreach (var (label, tokens) in demand.Where(d => !rows.Exists(r => r.Label == d.Key)))
        {
            var split = label.IndexOf('=', StringComparison.Ordinal);
            rows.Add(new LabelSupply { Key = label[..split], Value = label[(split + 1)..], DemandTokens = tokens });
        }

        return TypedResults.Ok(new ListPage<LabelSupply>(rows, false, null));
    }

    /// <summary>The node id when it is well formed and the registry knows the node as live; otherwise 404.</summary>
    private static async Task<string> FindAsync(IGrainFactory grains, string silo, string device)
    {
        var id = NodeId.Of(silo, device);
        var wellFormed = NodeId.TryParse(id, out var parsedSilo, out var parsedDevice) && parsedSilo == silo && parsedDevice == device;
        return wellFormed && (await grains.GetGrain<INodeRegistryGrain>(0).ListAsync()).Any(n => n.NodeId == id)
            ? id
            : throw new ApiProblemException(new ApiProblem(
                404, "Node not found", $"No live node '{id}' is known to the registry (see GET /admin/nodes).", "node_not_found"));
    }
}
