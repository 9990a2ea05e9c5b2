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
    private readonly Dictionary<string, long> _running = new(StringComparer.Ordinal);
    private PrefixDigest? _digest;
    private HashSet<ulong>? _digestBlocks;

    /// <summary>The node id.</summary>
    public string NodeId { get; } = nodeId;

    /// <summary>The node's latest report; null once it stopped reporting (its running jobs still count).</summary>
    public NodeReport? Report { get; set; }

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
        Slots = slots;
        Loaded = report.Models.Contains(model, StringComparer.Ordinal);
        var others = report.Models.Any(m => !string.Equals(m, model, StringComparison.Ordinal));
        OtherTokens = others ? Math.Max(0, report.OutstandingTokens - OwnOutstandingTokens) : 0;
    }

    /// <summary>
    /// How many of <paramref name="blocks"/>, from the first, the latest report's prefix digest for <paramref name="model"/>
    /// holds: the prompt's leading blocks cached here. 0 without a digest, or when it is cut at another block size.
    /// </summary>
    public int CachedBlocks(string model, IReadOnlyList<ulong> blocks, int blockTokens)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (Report?.PrefixDigests.TryGetValue(model, out var digest) != true || digest!.BlockTokens != blockTokens)
        {
            return 0;
        }

        // One set per report, built on first use: a digest is looked up by every job placed until the next report.
        if (!ReferenceEquals(_digest, digest))
        {
            _digest = digest;
            _digestBlocks = [.. digest.Blocks];
        }

        var held = 0;
        while (held < blocks.Count && _digestBlocks!.Contains(blocks[held]))
        {
            held++;
        }

        return held;
    }

    /// <summary>The jobs holding a slot here.</summary>
    public IReadOnlyCollection<string> Jobs => _running.Keys;

    /// <summary>Whether <paramref name="jobId"/> holds a slot here.</summary>
    public bool Holds(string jobId) => _running.ContainsKey(jobId);

    /// <summary>Records a job placed here with its expected cost.</summary>
    public void Place(string jobId, long cost)
    {
        if (_running.TryAdd(jobId, cost))
        {
            OwnOutstandingTokens += cost;
            Dispatched++;
            LastPlacement = Interlocked.Increment(ref s_placements);
        }
    }

    /// <summary>Frees the job's slot; false when it held none.</summary>
    public bool Release(string jobId)
    {
        if (!_running.Remove(jobId, out var cost))
        {
            return false;
        }

        OwnOutstandingTokens -= cost;
        return true;
    }
}
