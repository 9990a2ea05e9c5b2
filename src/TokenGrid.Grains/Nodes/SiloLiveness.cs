namespace TokenGrid.Grains.Nodes;

/// <summary>Whether a silo, by name, has left the cluster as Orleans' membership sees it.</summary>
internal static class SiloLiveness
{
    /// <summary>
    /// True when membership knows a silo named <paramref name="siloName"/> and none of that name is alive (declared dead,
    /// or stopping): its nodes are gone. A name membership does not know (a node reported under a configured name of
    /// another form) counts as alive, so only a membership verdict ever removes a node.
    /// </summary>
    public static bool IsGone(this IClusterMembershipService membership, string siloName)
    {
        ArgumentNullException.ThrowIfNull(membership);
        var known = false;
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (!string.Equals(member.Name, siloName, StringComparison.Ordinal))
            {
                continue;
            }

            if (member.Status is SiloStatus.Created or SiloStatus.Joining or SiloStatus.Active)
            {
                return false;
            }

            known = true;
        }

        return known;
    }

    /// <summary>Whether the silo of node <paramref name="nodeId"/> (<c>{silo}/{device}</c>) is gone.</summary>
    public static bool IsNodeGone(this IClusterMembershipService membership, string nodeId) =>
        NodeId.TryParse(nodeId, out var silo, out _) && membership.IsGone(silo);
}
