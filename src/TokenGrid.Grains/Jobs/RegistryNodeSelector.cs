using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// Picks, among the registry's live nodes that serve the model, the one with the fewest sequences running or
/// waiting (ties broken at random so idle nodes share the work).
/// </summary>
internal sealed class RegistryNodeSelector(IGrainFactory grainFactory) : INodeSelector
{
    public async Task<string?> SelectAsync(string model)
    {
        var nodes = await grainFactory.GetGrain<INodeRegistryGrain>(0).ListAsync();
        var candidates = nodes.Where(n => n.Models.Contains(model, StringComparer.Ordinal)).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var least = candidates.Min(Load);
        var best = candidates.Where(n => Load(n) == least).ToList();
        return best[Random.Shared.Next(best.Count)].NodeId;

        static int Load(NodeReport node) => node.ActiveSequences + node.QueuedSequences;
    }
}
