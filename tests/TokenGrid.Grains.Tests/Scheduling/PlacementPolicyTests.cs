using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

public sealed class PlacementPolicyTests
{
    private static readonly Dictionary<string, string> s_none = [];
    private static readonly Dictionary<string, string> s_west = new() { ["region"] = "west" };

    [Fact]
    public void Equal_nodes_share_jobs_evenly()
    {
        var nodes = Enumerable.Range(0, 3).Select(i => Node($"n{i}", slots: 1000)).ToList();
        for (var i = 0; i < 300; i++)
        {
            PlacementPolicy.Choose(nodes, "m", s_none)!.Place($"j{i}", 100);
        }

        Assert.All(nodes, n => Assert.Equal(100, n.Running));
    }

    [Fact]
    public void A_sibling_choice_goes_to_the_node_of_its_group_while_that_node_has_room()
    {
        var busy = Node("busy", slots: 2);
        busy.Place("choice-0", 100);
        var idle = Node("idle", slots: 2);

        Assert.Same(idle, PlacementPolicy.Choose([busy, idle], "m", s_none));
        Assert.Same(busy, PlacementPolicy.Choose([busy, idle], "m", s_none, preferred: "busy"));

        busy.Place("choice-1", 100);
        Assert.Same(idle, PlacementPolicy.Choose([busy, idle], "m", s_none, preferred: "busy"));

        // A preference never overrides what the job requires.
        var west = Node("west", labels: s_west);
        Assert.Same(west, PlacementPolicy.Choose([idle, west], "m", s_west, preferred: "idle"));
    }

    [Fact]
    public void A_node_with_the_model_loaded_is_preferred_over_an_idle_one_that_would_have_to_load_it()
    {
        var loaded = Node("loaded", tokensPerSecond: 100);
        loaded.Place("busy", 500);
        var cold = Node("cold", loaded: false);

        Assert.Same(loaded, PlacementPolicy.Choose([cold, loaded], "m", s_none));

        loaded.Place("busy-2", 500);
        Assert.Same(cold, PlacementPolicy.Choose([cold, loaded], "m", s_none));
    }

    [Fact]
    public void The_lowest_expected_wait_wins_outstanding_tokens_over_measured_rate()
    {
        var fast = Node("fast", tokensPerSecond: 1000, slots: 8);
        var slow = Node("slow", tokensPerSecond: 100, slots: 8);
        fast.Place("a", 400);
        fast.Place("b", 400);
        slow.Place("c", 200);

        // 800 / 1000 = 0.8 s against 200 / 100 = 2 s.
        Assert.Same(fast, PlacementPolicy.Choose([slow, fast], "m", s_none));
    }

    [Fact]
    public void Only_nodes_with_the_required_labels_a_free_slot_and_no_drain_are_allowed()
    {
        var east = Node("east", labels: new() { ["region"] = "east" });
        var westFull = Node("west-full", labels: new() { ["region"] = "west", ["pool"] = "a" }, slots: 1);
        westFull.Place("x", 10);
        var westDraining = Node("west-draining", labels: new() { ["region"] = "west" }, draining: true);

        Assert.Null(PlacementPolicy.Choose([east, westFull, westDraining], "m", s_west));
        Assert.Same(east, PlacementPolicy.Choose([east, westFull, westDraining], "m", s_none));
        Assert.Null(PlacementPolicy.Choose([east], "other-model", s_none));

        var westFree = Node("west-free", labels: new() { ["region"] = "west" });
        Assert.Same(westFree, PlacementPolicy.Choose([east, westFull, westDraining, westFree], "m", s_west));
    }

    private static NodeSlots Node(
        string id, int slots = 2, bool loaded = true, double tokensPerSecond = 0, Dictionary<string, string>? labels = null, bool draining = false) => new(id)
    {
        Slots = slots,
        Loaded = loaded,
        Report = new NodeReport
        {
            NodeId = id,
            Silo = "s",
            Device = "cpu0",
            Provider = "Cpu",
            Models = loaded ? ["m"] : [],
            LoadableModels = ["m"],
            TokensPerSecond10s = tokensPerSecond,
            MaxBatchSize = slots,
            Labels = labels ?? [],
            Draining = draining,
        },
    };
}
