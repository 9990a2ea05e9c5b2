using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>Prefix-aware placement: a node's cached prefix counts against its expected wait, within what the job may use.</summary>
public sealed class PrefixPlacementTests
{
    private const int Block = 16;
    private static readonly Dictionary<string, string> s_none = [];
    private static readonly Dictionary<string, string> s_west = new() { ["region"] = "west" };
    private static readonly ulong[] s_prompt = [11, 12, 13, 14];
    private static readonly SchedulingOptions s_options = new();

    [Fact]
    public void A_node_holding_the_prefix_wins_over_an_equally_loaded_one()
    {
        var holder = Node("holder", digest: [13, 12, 11, 99]);
        var other = Node("other");
        holder.Place("a", 100);
        other.Place("b", 100);

        // Load alone rotates: the node unused longest goes next.
        Assert.Same(holder, PlacementPolicy.Choose([holder, other], "m", s_none));
        holder.Place("c", 0);
        holder.Release("c");
        Assert.Same(other, PlacementPolicy.Choose([holder, other], "m", s_none));

        var prefix = Affinity(s_prompt);
        Assert.Equal(3 * Block, prefix.CachedTokens(holder, "m"));
        Assert.Same(holder, PlacementPolicy.Choose([holder, other], "m", s_none, prefix: prefix));
    }

    [Fact]
    public void A_job_placed_here_counts_its_prompt_blocks_before_any_report_has_them_until_reports_after_it_ended_speak()
    {
        var node = Node("n");
        var report = node.Report!;
        node.Place("first-turn", 100, s_prompt, Block);
        Assert.Equal(4 * Block, Affinity(s_prompt).CachedTokens(node, "m"));
        Assert.Equal(0, Affinity([11, 12, 13, 14], blockTokens: 32).CachedTokens(node, "m"));

        // While the job runs, reports without the blocks (taken before its prefill ended) do not drop them.
        node.Update(report, "m", 2);
        node.Update(report, "m", 2);
        Assert.Equal(4 * Block, Affinity(s_prompt).CachedTokens(node, "m"));

        // Once it ended, the second report after that speaks: this node's digest says it no longer holds them.
        node.Release("first-turn");
        node.Update(report, "m", 2);
        Assert.Equal(4 * Block, Affinity(s_prompt).CachedTokens(node, "m"));
        node.Update(report, "m", 2);
        Assert.Equal(0, Affinity(s_prompt).CachedTokens(node, "m"));

        // A digest that holds them keeps counting them.
        node.Update(report with { PrefixDigests = new Dictionary<string, PrefixDigest> { ["m"] = new(Block, [11, 12]) } }, "m", 2);
        Assert.Equal(2 * Block, Affinity(s_prompt).CachedTokens(node, "m"));
    }

    [Fact]
    public void Every_conversation_sent_at_once_returns_to_the_node_of_its_last_turn()
    {
        var now = new DateTimeOffset(2026, 3, 14, 9, 0, 0, TimeSpan.Zero);
        var book = new DispatchBook("m", s_options);
        NodeReport Report(string id) => Node(id, slots: 16, tokensPerSecond: 100).Report! with { ReportedAt = now };

        // Eight conversations of 64-block (1,024-token) histories, each turn adding 4 blocks; no report has a digest yet.
        ulong[] Turn(int conversation, int turn) => [.. Enumerable.Range(0, 64 + (4 * turn)).Select(b => (ulong)((conversation * 1000) + b))];
        var last = new Dictionary<int, string>();
        void Send(IEnumerable<int> conversations, int turn)
        {
            foreach (var c in conversations)
            {
                book.Queue.Enqueue(Request(Turn(c, turn)) with { JobId = $"{c}/{turn}", TenantId = $"t{c}", MaxTokens = 32 });
            }
        }

        // Six first turns while only n1 serves, then two more once n2 has joined: n1 holds six histories, n2 two.
        book.Refresh([Report("n1")], now, TimeSpan.FromSeconds(10), _ => false);
        Send(Enumerable.Range(0, 6), 0);
        var started = book.Dispatch(now);
        book.Refresh([Report("n1"), Report("n2")], now, TimeSpan.FromSeconds(10), _ => false);
        Send([6, 7], 0);
        started.AddRange(book.Dispatch(now));
        foreach (var start in started)
        {
            last[int.Parse(start.Job.Request.JobId.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)] = start.NodeId;
            Assert.True(book.Release(start.Job.Request.JobId, 32, now));
        }

        Assert.Equal(["n2", "n2"], [last[6], last[7]]);

        // The next turns, all at once: each finds its history where it ran, although six jobs on n1 queue there while n2
        // has room, because a job whose prompt the node holds adds only the rest of its prompt to the node's queue.
        Send(Enumerable.Range(0, 8), 1);
        var next = book.Dispatch(now);
        Assert.Equal(8, next.Count);
        Assert.All(next, start => Assert.Equal(last[int.Parse(start.Job.Request.JobId.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)], start.NodeId));
    }

    [Fact]
    public void Only_the_leading_blocks_count_and_only_at_the_same_block_size()
    {
        var node = Node("n", digest: [12, 13, 14]);
        Assert.Equal(0, Affinity(s_prompt).CachedTokens(node, "m"));

        var cutOtherwise = Node("n", digest: [11, 12], blockTokens: 32);
        Assert.Equal(0, Affinity(s_prompt).CachedTokens(cutOtherwise, "m"));
        Assert.Equal(0, Affinity(s_prompt).CachedTokens(Node("n", digest: [11], model: "other"), "m"));
    }

    [Fact]
    public void A_much_longer_queue_beats_a_small_saving_and_a_long_prefix_beats_a_short_queue()
    {
        var holder = Node("holder", tokensPerSecond: 100, digest: [.. Enumerable.Range(0, 64).Select(i => (ulong)i)]);
        var idle = Node("idle", tokensPerSecond: 100);
        holder.Place("a", 1000);
        idle.Place("b", 100);

        // One cached block: 16 tokens at 100/s = 0.16 s saved against 10 s - 1 s of extra wait.
        Assert.Same(idle, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: Affinity([0, 500])));

        // 64 blocks: 1,024 tokens = 10.24 s saved, more than the 9 s of extra wait.
        var whole = Affinity([.. Enumerable.Range(0, 64).Select(i => (ulong)i)]);
        Assert.Same(holder, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: whole));

        // A configured prefill cost (1 ms a token: 1.024 s saved) weighs less than the measured one here.
        Assert.Same(idle, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: whole with { SecondsPerToken = 0.001 }));

        // The weight scales the saving: at 0.5, 5.12 s no longer beats 9 s.
        Assert.Same(idle, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: whole with { Weight = 0.5 }));
    }

    [Fact]
    public void Labels_drain_free_slots_regions_and_a_running_sibling_are_never_overridden()
    {
        var east = Node("east", labels: new() { ["region"] = "east" }, digest: [11, 12, 13, 14]);
        var west = Node("west", labels: s_west);
        var prefix = Affinity(s_prompt);

        Assert.Same(east, PlacementPolicy.Choose([east, west], "m", s_none, prefix: prefix));
        Assert.Same(west, PlacementPolicy.Choose([east, west], "m", s_west, prefix: prefix));

        var draining = Node("draining", labels: s_west, digest: [11, 12, 13, 14], draining: true);
        var full = Node("full", labels: s_west, digest: [11, 12, 13, 14], slots: 1);
        full.Place("x", 10);
        Assert.Same(west, PlacementPolicy.Choose([draining, full, west], "m", s_west, prefix: prefix));
        Assert.Null(PlacementPolicy.Choose([draining, full], "m", s_west, prefix: prefix));

        // A running sibling's node shares the whole prompt: it still wins.
        Assert.Same(west, PlacementPolicy.Choose([east, west], "m", s_none, preferred: "west", prefix: prefix));

        // Cost-aware placement chooses by prefix only among the cheapest region's nodes.
        var job = Request(s_prompt) with { RegionCosts = new Dictionary<string, long> { ["east"] = 200, ["west"] = 100 } };
        Assert.Same(west, CheapestPlacement.Choose([east, west], "m", job, DateTimeOffset.UnixEpoch, prefix: prefix));
    }

    [Fact]
    public void Weight_zero_or_a_job_without_blocks_is_placed_by_load_alone()
    {
        var off = new SchedulingOptions { PrefixAffinityWeight = 0 };
        Assert.Null(PrefixAffinity.Of(Request(s_prompt), off));
        Assert.Null(PrefixAffinity.Of(Request(s_prompt) with { PrefixBlocks = null, PrefixBlockTokens = 0 }, s_options));
        Assert.Null(PrefixAffinity.Of(Request([]), s_options));
        Assert.NotNull(PrefixAffinity.Of(Request(s_prompt), s_options));

        // The same nodes and the same order of placements as without the digests.
        var withDigests = Enumerable.Range(0, 3).Select(i => Node($"n{i}", slots: 100, digest: [11, 12, 13, 14])).ToList();
        var without = Enumerable.Range(0, 3).Select(i => Node($"n{i}", slots: 100)).ToList();
        for (var i = 0; i < 30; i++)
        {
            var a = PlacementPolicy.Choose(withDigests, "m", s_none, prefix: PrefixAffinity.Of(Request(s_prompt), off))!;
            var b = PlacementPolicy.Choose(without, "m", s_none)!;
            Assert.Equal(b.NodeId, a.NodeId);
            a.Place($"j{i}", 100);
            b.Place($"j{i}", 100);
        }
    }

    [Fact]
    public void Without_any_measured_rate_the_share_of_the_prompt_cached_weighs_against_the_share_of_busy_slots()
    {
        var holder = Node("holder", slots: 4, digest: [11, 12]);
        var idle = Node("idle", slots: 4);
        holder.Place("a", 10);

        // Half the 64-token prompt cached (0.5) against a quarter of the slots busy (0.25).
        Assert.Same(holder, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: Affinity(s_prompt)));
        holder.Place("b", 10);
        holder.Place("c", 10);
        Assert.Same(idle, PlacementPolicy.Choose([holder, idle], "m", s_none, prefix: Affinity(s_prompt)));
    }

    private static DispatchRequest Request(ulong[] blocks) => new()
    {
        JobId = "j",
        TenantId = "t",
        PromptTokens = blocks.Length * Block,
        MaxTokens = 16,
        PrefixBlocks = blocks,
        PrefixBlockTokens = blocks.Length == 0 ? 0 : Block,
    };

    private static PrefixAffinity Affinity(ulong[] blocks, int blockTokens = Block) =>
        PrefixAffinity.Of(Request(blocks) with { PrefixBlockTokens = blockTokens }, s_options)!;

    private static NodeSlots Node(
        string id, int slots = 2, double tokensPerSecond = 0, Dictionary<string, string>? labels = null, bool draining = false,
        ulong[]? digest = null, int blockTokens = Block, string model = "m") => new(id)
    {
        Slots = slots,
        Loaded = true,
        Report = new NodeReport
        {
            NodeId = id,
            Silo = "s",
            Device = "cpu0",
            Provider = "Cpu",
            Models = ["m"],
            LoadableModels = ["m"],
            TokensPerSecond10s = tokensPerSecond,
            MaxBatchSize = slots,
            Labels = labels ?? [],
            Draining = draining,
            PrefixDigests = digest is null ? new Dictionary<string, PrefixDigest>() : new() { [model] = new PrefixDigest(blockTokens, digest) },
        },
    };
}
