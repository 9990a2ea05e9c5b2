using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace TokenGrid.Grains.Nodes;

/// <summary>
/// Places a node grain on the silo that owns its device: the silo whose name is the node id's prefix
/// (<c>{silo}/{device}</c>), never by chance.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class DevicePlacement : PlacementStrategy
{
    internal static DevicePlacement Instance { get; } = new();

    /// <summary>
    /// False: a node grain is found by its id (the silo it names), as a system target is, and is never registered in
    /// Orleans' grain directory. A directory entry would tie the node's activation to whichever silo holds that entry
    /// on the directory ring: when that silo stops or fails, Orleans deactivates every activation whose entry it held,
    /// and a node on a healthy silo would lose the streams it runs (their jobs recomputed) each time another silo
    /// leaves. Placed by name on a silo that holds one activation per grain, a node has no duplicate to guard against.
    /// </summary>
    public override bool IsUsingGrainDirectory => false;
}

/// <summary>Marks a grain class (keyed by node id) for <see cref="DevicePlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DevicePlacementAttribute() : PlacementAttribute(DevicePlacement.Instance);

/// <summary>Chooses the active silo named by the node id, from the cluster membership.</summary>
internal sealed class DevicePlacementDirector(IClusterMembershipService membership, ILocalSiloDetails localSilo) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(Choose(
            target.GrainIdentity.Key.ToString()!,
            localSilo.Name,
            context.LocalSilo,
            membership.CurrentSnapshot.Members.Values,
            context.GetCompatibleSilos(target)));

    /// <summary>
    /// The silo for <paramref name="nodeId"/>: this silo when the name is its own (its membership entry may still be
    /// on the way at startup), otherwise the newest active member of that name, preferring silos compatible with the
    /// grain type. Throws when no active silo has that name.
    /// </summary>
    internal static SiloAddress Choose(
        string nodeId, string localName, SiloAddress local, IEnumerable<ClusterMember> members, IReadOnlyCollection<SiloAddress> compatible)
    {
        if (!NodeId.TryParse(nodeId, out var siloName, out _))
        {
            throw new ArgumentException($"'{nodeId}' is not a node id of the form {{silo}}/{{device}}.", nameof(nodeId));
        }

        if (string.Equals(siloName, localName, StringComparison.Ordinal))
        {
            return local;
        }

        var named = members
            .Where(m => m.Status == SiloStatus.Active && string.Equals(m.Name, siloName, StringComparison.Ordinal))
            .Select(m => m.SiloAddress)
            .OrderByDescending(a => compatible.Contains(a))
            .ThenByDescending(a => a.Generation)
            .FirstOrDefault();
        return named ?? throw new NodeNotPlaceableException(nodeId, siloName);
    }
}
