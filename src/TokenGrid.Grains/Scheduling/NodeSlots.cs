using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// One node as one model's dispatcher sees it: the node's latest report, and the dispatcher's own accounting of the
/// jobs it placed there (fresher than any report). Slots are the engine's batch size for the model: the dispatcher
/// never places more sequences on a node than it can decode at once, so work waits in the fair queue, not in an
/// engine's FIFO.
/// </summary>
public sealed class NodeSlots(string nodeId)
{
    /// <summary>Most block summaries remembered from placements (<see cref="CachedBlocks"/>).</summary>
    public const int MaxPlacedBlocks = 65_536;

    private readonly Dictionary<string, (long Cost, ulong[]? Blocks)> _running = new(StringComparer.Ordinal);
    private PrefixDigest? _digest;
    private HashSet<ulong>? _digestBlocks;

    // Prompt blocks of jobs placed here, as the node will hold them once it has prefilled them: block summary to the
    // report count from which the node's own digest speaks for it (long.MaxValue while a job holding it runs).
    private readonly Dictionary<ulong, long> _placed = [];
    private int _placedBlockTokens;
    private long _reports;

    /// <summary>The node id.</summary>
    public string NodeId { get; } = nodeId;

    /// <summary>The node's latest report; null once it stopped reporting (its running jobs still count).</summary>
    public NodeReport? Report { get; set; }

    /// <summary>The latest report ever taken, kept after <see cref="Report"/> is cleared: what the node served and when it last spoke.</summary>
    public NodeReport? LastReport { get; private set; }

    /// <summary>
    /// Set when a job could not reach the node: the time of the last report taken before that (its own clock), so only a
    /// newer report brings the node back. Null: reachable.
    /// </summary>
    public DateTimeOffset? UnreachableAfter { get; private set; }

    /// <summary>Stops placing jobs here until the node reports again.</summary>
    public void MarkUnreachable()
    {
        UnreachableAfter = Report?.ReportedAt ?? DateTimeOffset.MinValue;
        Report = null;
    }

    /// <summary>Sequences of this model the node runs at once.</summary>
    public int Slots { get; set; }

    /// <summary>Jobs the dispatcher placed here that have not released their slot.</summary>
    public int Running => _running.Count;

    /// <summary>Free slots (negative never: a shrunk node just has none).</summary>
    public int Free => Math.Max(0, Slots - _running.Count);

    /// <summary>Expected tokens (prompt and output) of the jobs placed here.</summary>
    public long OwnOutstandingTokens { get; private set; }

    private static long s_placements;

    /// <summary>Jobs ever placed here by this dispatcher.</summary>
    public long Dispatched { get; private set; }

    /// <summary>When a job was last placed here, as a process-wide placement count (0: never); ties go to the node unused longest.</summary>
    public long LastPlacement { get; private set; }

    /// <summary>Whether the model is loaded on the node (rather than loadable on demand).</summary>
    public bool Loaded { get; set; }

    /// <summary>
    /// Tokens of other models' work on the node, from its latest report less this dispatcher's own at that time; 0 when
    /// the node has only this model loaded, since the dispatcher's own figure is then exact and fresher than any report.
    /// </summary>
    public long OtherTokens { get; private set; }

    /// <summary>Tokens waiting or running on the node: the dispatcher's own, plus other models' from the report.</summary>
    public long OutstandingTokens => OwnOutstandingTokens + OtherTokens;

    /// <summary>Takes a new report.</summary>
    public void Update(NodeReport report, string model, int slots)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (UnreachableAfter is { } after)
        {
            if (report.ReportedAt <= after)
            {
                return;
            }

            UnreachableAfter = null;
        }

        Report = report;
        LastReport = report;
        Slots = slots;
        _reports++;
        if (_placed.Count > 0)
        {
            foreach (var (block, until) in _placed)
            {
                if (until <= _reports)
                {
                    _placed.Remove(block);
                }
            }
        }

        Loaded = report.Models.Contains(model, StringComparer.Ordinal);
        var others = report.Models.Any(m => !string.Equals(m, model, StringComparison.Ordinal));
        OtherTokens = others ? Math.Max(0, report.OutstandingTokens - OwnOutstandingTokens) : 0;
    }

    /// <summary>
    /// How many of <paramref name="blocks"/>, from the first, the node holds for <paramref name="model"/>: in the latest
    /// report's prefix digest, or the prompt blocks of jobs this dispatcher placed here that no report covers yet (a
    /// conversation's next turn often comes before the node's next report). A placed job's blocks count while it runs
    /// and until the node has reported twice since it ended; from then the node's digest says whether it still holds
    /// them. Blocks cut at another block size count for nothing.
    /// </summary>
    public int CachedBlocks(string model, IReadOnlyList<ulong> blocks, int blockTokens)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        HashSet<ulong>? reported = null;
        if (Report?.PrefixDigests.TryGetValue(model, out var digest) == true && digest!.BlockTokens == blockTokens)
        {
            // One set per report, built on first use: a digest is looked up by every job placed until the next report.
            if (!ReferenceEquals(_digest, digest))
            {
                _digest = digest;
                _digestBlocks = [.. digest.Blocks];
            }

            reported = _digestBlocks;
        }

        var placed = _placedBlockTokens == blockTokens && _placed.Count > 0 ? _placed : null;
        var held = 0;
        while (held < blocks.Count && (reported?.Contains(blocks[held]) == true || placed?.ContainsKey(blocks[held]) == true))
        {
            held++;
        }

        return held;
    }

    /// <summary>The jobs holding a slot here.</summary>
    public IReadOnlyCollection<string> Jobs => _running.Keys;

    /// <summary>Whether <paramref name="jobId"/> holds a slot here.</summary>
    public bool Holds(string jobId) => _running.ContainsKey(jobId);

    /// <summary>
    /// Records a job placed here with its expected cost, and the summaries of its prompt's blocks of
    /// <paramref name="blockTokens"/> tokens (<see cref="CachedBlocks"/>).
    /// </summary>
    public void Place(string jobId, long cost, ulong[]? blocks = null, int blockTokens = 0)
    {
        var placed = blocks is { Length: > 0 } && blockTokens > 0 ? blocks : null;
        if (_running.TryAdd(jobId, (cost, placed)))
        {
            OwnOutstandingTokens += cost;
            Dispatched++;
            LastPlacement = Interlocked.Increment(ref s_placements);
            if (placed is not null)
            {
                RememberPlaced(placed, blockTokens);
            }
        }
    }

    /// <summary>Frees the job's slot; false when it held none.</summary>
    public bool Release(string jobId)
    {
        if (!_running.Remove(jobId, out var run))
        {
            return false;
        }

        OwnOutstandingTokens -= run.Cost;
        foreach (var block in run.Blocks ?? [])
        {
            if (_placed.ContainsKey(block))
            {
                // The second report from now was taken after the job ended: its digest then speaks for the block.
                _placed[block] = _reports + 2;
            }
        }

        return true;
    }

    private void RememberPlaced(ulong[] blocks, int blockTokens)
    {
        if (_placedBlockTokens != blockTokens)
        {
            _placed.Clear();
            _placedBlockTokens = blockTokens;
        }

        if (_placed.Count + blocks.Length > MaxPlacedBlocks)
        {
            // Bounded: forget the ended jobs' blocks (the node's digest covers them soon), and past that, remember no more.
            foreach (var (block, until) in _placed)
            {
                if (until != long.MaxValue)
                {
                    _placed.Remove(block);
                }
            }

            if (_placed.Count + blocks.Length > MaxPlacedBlocks)
            {
                return;
            }
        }

        foreach (var block in blocks)
        {
            _placed[block] = long.MaxValue;
        }
    }
}
