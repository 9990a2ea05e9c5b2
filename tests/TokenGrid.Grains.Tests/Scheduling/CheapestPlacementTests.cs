using TokenGrid.Abstractions;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>
/// Cost-aware placement on its own (<see cref="CheapestPlacement"/>) and in a <see cref="DispatchBook"/>: the cheapest
/// allowed region first, labels never relaxed, a busy cheaper node waited for only within the tenant's bound, and a
/// waiting job never holding up the jobs behind it.
/// </summary>
public sealed class CheapestPlacementTests
{
    private static readonly DateTimeOffset s_enqueued = new(2026, 3, 14, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(10);

    /// <summary>South is cheapest, any unlisted region is in between, north is dearest.</summary>
    private static readonly Dictionary<string, long> s_costs = new() { ["south"] = 300, ["north"] = 900, [""] = 600 };

    [Fact]
    public void The_cheapest_allowed_region_wins_over_the_nodes_the_scheduler_would_otherwise_prefer()
    {
        // The north node has the model loaded and is idle; the south one would have to load it and already runs a job.
        var north = Node("north", region: "north");
        var south = Node("south", region: "south", loaded: false);
        south.Place("other", 100);
        var unlabelled = Node("unlabelled", region: null);

        Assert.Same(north, PlacementPolicy.Choose([north, south, unlabelled], "m", Labels.None));
        Assert.Same(south, CheapestPlacement.Choose([north, south, unlabelled], "m", Cheapest("j"), s_enqueued));

        // Without the south node, an unlisted region's price (the "" entry) beats north's.
        Assert.Same(unlabelled, CheapestPlacement.Choose([north, unlabelled], "m", Cheapest("j"), s_enqueued));
        Assert.Equal((300L, 600L, long.MaxValue), (
            CheapestPlacement.CostOn(south.Report!, s_costs), CheapestPlacement.CostOn(Node("east", "east").Report!, s_costs),
            CheapestPlacement.CostOn(north.Report!, new Dictionary<string, long> { ["south"] = 1 })));
    }

    [Fact]
    public void A_residency_label_excludes_a_cheaper_region_however_long_the_job_has_waited()
    {
        var north = Node("north", region: "north", slots: 1);
        var south = Node("south", region: "south");
        var job = Cheapest("j") with { RequiredLabels = new Dictionary<string, string> { ["region"] = "north" } };

        Assert.Same(north, CheapestPlacement.Choose([north, south], "m", job, s_enqueued));

        north.Place("other", 100);
        Assert.Null(CheapestPlacement.Choose([north, south], "m", job, s_enqueued + TimeSpan.FromHours(1)));
    }

    [Fact]
    public void A_busy_cheaper_node_is_waited_for_within_the_bound_and_the_cheapest_free_node_taken_after_it()
    {
        var north = Node("north", region: "north");
        var unlabelled = Node("unlabelled", region: null);
        var south = Node("south", region: "south", slots: 1);
        south.Place("other", 100);
        var job = Cheapest("j");

        Assert.Null(CheapestPlacement.Choose([north, unlabelled, south], "m", job, s_enqueued));
        Assert.Null(CheapestPlacement.Choose([north, unlabelled, south], "m", job, s_enqueued + s_bound - TimeSpan.FromMilliseconds(1)));
        Assert.Same(unlabelled, CheapestPlacement.Choose([north, unlabelled, south], "m", job, s_enqueued + s_bound));

        // A bound of zero never waits; a free cheaper node is taken at once, bound or not.
        Assert.Same(unlabelled, CheapestPlacement.Choose([north, unlabelled, south], "m", job with { CheapestMaxExtraWait = TimeSpan.Zero }, s_enqueued));
        south.Release("other");
        Assert.Same(south, CheapestPlacement.Choose([north, unlabelled, south], "m", job with { CheapestMaxExtraWait = TimeSpan.Zero }, s_enqueued));
    }

    [Fact]
    public void A_busy_cheaper_node_expected_to_drain_after_the_bound_is_not_waited_for()
    {
        var north = Node("north", region: "north", tokensPerSecond: 100);
        var south = Node("south", region: "south", slots: 1, tokensPerSecond: 100);
        south.Place("long", 450);
        var job = Cheapest("j");

        // 450 tokens at 100 per second: 4.5 s, within the 5 s bound at first, no longer 1 s later.
        Assert.Null(CheapestPlacement.Choose([north, south], "m", job, s_enqueued));
        Assert.Same(north, CheapestPlacement.Choose([north, south], "m", job, s_enqueued + TimeSpan.FromSeconds(1)));

        // Unmeasured nodes borrow the mean rate of the others.
        var fresh = Node("south-fresh", region: "south", slots: 1);
        fresh.Place("long", 900);
        Assert.Same(north, CheapestPlacement.Choose([north, fresh], "m", job, s_enqueued));
        Assert.Equal(TimeSpan.FromSeconds(9), WaitEstimates.NodeDrain(fresh, WaitEstimates.MeanRate([north, fresh])));
        Assert.Null(WaitEstimates.NodeDrain(fresh, 0));
    }

    [Fact]
    public void Jobs_without_region_costs_are_placed_as_before()
    {
        var book = Book(new SchedulingOptions { Preemption = false });
        book.Refresh([Report("north", "north", loaded: true), Report("south", "south", loaded: false)], s_enqueued, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("plain", "a"));
        book.Queue.Enqueue(Cheapest("cheap", "b"));

        var started = book.Dispatch(s_enqueued);

        Assert.Equal([("plain", "north"), ("cheap", "south")], started.Select(Started));
    }

    [Fact]
    public void A_job_waiting_for_a_cheaper_node_does_not_hold_the_free_dearer_ones_from_the_jobs_behind_it()
    {
        var book = Book(new SchedulingOptions { Preemption = false });
        book.Refresh([Report("north", "north", slots: 1), Report("south", "south", slots: 1)], s_enqueued, s_lifetime, _ => false);
        book.Queue.Enqueue(Cheapest("on-south", "x"));
        Assert.Equal("south", Assert.Single(book.Dispatch(s_enqueued)).NodeId);

        // The cheapest tenant's job is first in line and waits for south; the plain jobs behind it take north meanwhile.
        book.Queue.Enqueue(Cheapest("waiting", "c"));
        book.Queue.Enqueue(Job("plain-1", "p"));
        Assert.Equal(1, book.Queue.PositionOf("waiting", s_enqueued));
        Assert.Equal(("plain-1", "north"), Started(Assert.Single(book.Dispatch(s_enqueued))));

        book.Release("plain-1", 10, s_enqueued.AddSeconds(1));
        Assert.Empty(book.Dispatch(s_enqueued.AddSeconds(1)));
        book.Queue.Enqueue(Job("plain-2", "p") with { EnqueuedAt = s_enqueued.AddSeconds(1) });
        Assert.Equal(("plain-2", "north"), Started(Assert.Single(book.Dispatch(s_enqueued.AddSeconds(1)))));

        // Once its bound is spent, the waiting job takes the first slot that frees, dearer or not.
        book.Release("plain-2", 10, s_enqueued + s_bound);
        Assert.Equal(("waiting", "north"), Started(Assert.Single(book.Dispatch(s_enqueued + s_bound))));
    }

    [Fact]
    public void A_job_waiting_for_a_cheaper_node_preempts_no_one_while_a_dearer_slot_is_free()
    {
        var book = Book(new SchedulingOptions());
        book.Refresh([Report("north", "north", slots: 1), Report("south", "south", slots: 1)], s_enqueued, s_lifetime, _ => false);
        book.Queue.Enqueue(Cheapest("batch", "batch") with { Priority = PriorityClass.Low });
        Assert.Equal("south", Assert.Single(book.Dispatch(s_enqueued)).NodeId);

        // A High job may preempt a Low one, but not to get a cheaper slot than the free one it passed over.
        book.Queue.Enqueue(Cheapest("urgent", "live") with { Priority = PriorityClass.High });
        Assert.Empty(book.Dispatch(s_enqueued));
        Assert.Equal(0, book.Preemptions);

        Assert.Equal(("urgent", "north"), Started(Assert.Single(book.Dispatch(s_enqueued + s_bound))));
        Assert.Equal(["batch", "urgent"], book.Running.Keys.Order());
    }

    [Fact]
    public void A_job_waiting_for_a_cheaper_node_takes_it_when_it_frees_within_the_bound()
    {
        var book = Book(new SchedulingOptions { Preemption = false });
        book.Refresh([Report("north", "north", slots: 1), Report("south", "south", slots: 1)], s_enqueued, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("on-north", "a"));
        book.Queue.Enqueue(Cheapest("on-south", "b"));
        Assert.Equal([("on-north", "north"), ("on-south", "south")], book.Dispatch(s_enqueued).Select(Started));

        book.Queue.Enqueue(Cheapest("cheap", "c"));
        book.Release("on-north", 10, s_enqueued.AddSeconds(1));
        Assert.Empty(book.Dispatch(s_enqueued.AddSeconds(1)));
        book.Release("on-south", 10, s_enqueued.AddSeconds(2));

        Assert.Equal(("cheap", "south"), Started(Assert.Single(book.Dispatch(s_enqueued.AddSeconds(2)))));
    }

    private static (string JobId, string NodeId) Started(JobStart start) => (start.Job.Request.JobId, start.NodeId);

    private static DispatchBook Book(SchedulingOptions options) => new("m", options);

    private static DispatchRequest Job(string id, string tenant) => new()
    {
        JobId = id,
        TenantId = tenant,
        PromptTokens = 10,
        MaxTokens = 40,
        EnqueuedAt = s_enqueued,
    };

    private static DispatchRequest Cheapest(string id, string tenant = "t") =>
        Job(id, tenant) with { RegionCosts = s_costs, CheapestMaxExtraWait = s_bound };

    private static NodeReport Report(string id, string? region, int slots = 2, bool loaded = true, double tokensPerSecond = 0) => new()
    {
        NodeId = id,
        Silo = "s",
        Device = "cpu0",
        Provider = "Cpu",
        Models = loaded ? ["m"] : [],
        LoadableModels = ["m"],
        MaxBatchSize = slots,
        TokensPerSecond10s = tokensPerSecond,
        Labels = region is null ? [] : new Dictionary<string, string> { ["region"] = region },
        ReportedAt = s_enqueued,
    };

    private static NodeSlots Node(string id, string? region, int slots = 2, bool loaded = true, double tokensPerSecond = 0)
    {
        var node = new NodeSlots(id);
        node.Update(Report(id, region, slots, loaded, tokensPerSecond), "m", slots);
        return node;
    }
}
