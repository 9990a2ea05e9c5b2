using System.Net;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class DevicePlacementDirectorTests
{
    private static readonly SiloAddress s_local = Silo(1, 1);

    [Fact]
    public void A_node_of_this_silo_is_placed_here_even_before_membership_lists_it()
    {
        Assert.Equal(s_local, DevicePlacementDirector.Choose("local/cpu0", "local", s_local, [], []));
    }

    [Fact]
    public void A_node_goes_to_the_newest_active_silo_of_its_name()
    {
        var old = Silo(2, 1);
        var current = Silo(2, 2);
        var other = Silo(3, 1);
        ClusterMember[] members =
        [
            new(s_local, SiloStatus.Active, "local"),
            new(old, SiloStatus.Active, "silo-b"),
            new(current, SiloStatus.Active, "silo-b"),
            new(other, SiloStatus.Active, "silo-c"),
        ];

        Assert.Equal(current, DevicePlacementDirector.Choose("silo-b/gpu1", "local", s_local, members, [s_local, old, current, other]));
        Assert.Equal(old, DevicePlacementDirector.Choose("silo-b/gpu1", "local", s_local, members, [old]));
    }

    [Fact]
    public void A_node_of_a_stopped_or_unknown_silo_cannot_be_placed()
    {
        ClusterMember[] members = [new(Silo(2, 1), SiloStatus.Dead, "silo-b")];

        var dead = Assert.Throws<NodeNotPlaceableException>(() => DevicePlacementDirector.Choose("silo-b/cpu0", "local", s_local, members, []));
        Assert.Contains("no active silo is named 'silo-b'", dead.Message);
        Assert.Throws<NodeNotPlaceableException>(() => DevicePlacementDirector.Choose("silo-z/cpu0", "local", s_local, members, []));
        Assert.Throws<ArgumentException>(() => DevicePlacementDirector.Choose("no-device", "local", s_local, members, []));
    }

    [Fact]
    public void Node_ids_split_at_the_last_slash()
    {
        Assert.True(NodeId.TryParse("pod/a/gpu0", out var silo, out var device));
        Assert.Equal(("pod/a", "gpu0"), (silo, device));
        Assert.False(NodeId.TryParse("cpu0", out _, out _));
        Assert.False(NodeId.TryParse("silo/", out _, out _));
    }

    private static SiloAddress Silo(int port, int generation) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11000 + port), generation);
}
