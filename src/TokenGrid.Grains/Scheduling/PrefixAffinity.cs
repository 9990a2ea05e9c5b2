using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

/// <summary>
/// A job's prompt as prefix-aware placement weighs it: the summaries of its blocks (<see cref="DispatchRequest.PrefixBlocks"/>)
/// and what a node holding the first of them would save it. A node holds a prompt's first k blocks when its latest
/// digest has each of them (the keys are chained, so a block only ever matches with everything before it); the saving
/// is those k × block size prompt tokens not prefilled again, in seconds: × <see cref="SecondsPerToken"/> when set, else
/// at the node's measured rate, the one its expected wait is counted at (<see cref="PlacementPolicy.ExpectedWait"/>).
/// With no rate known anywhere the wait is a share of busy slots, and the saving then the share of the prompt cached.
/// Either way × <see cref="Weight"/>.
/// </summary>
/// <param name="Blocks">The prompt's block summaries, in order.</param>
/// <param name="BlockTokens">Prompt tokens per block; a node whose digest is cut otherwise saves nothing.</param>
/// <param name="PromptTokens">The prompt's tokens.</param>
/// <param name="Weight">How much a second saved counts against a second waited (<see cref="SchedulingOptions.PrefixAffinityWeight"/>).</param>
/// <param name="SecondsPerToken">Seconds one cached prompt token saves; 0: the node's measured rate (<see cref="SchedulingOptions.PrefillSecondsPerToken"/>).</param>
public sealed record PrefixAffinity(IReadOnlyList<ulong> Blocks, int BlockTokens, int PromptTokens, double Weight, double SecondsPerToken)
{
    /// <summary>The job's affinity, or null when it sent no blocks or prefix-aware placement is off.</summary>
    public static PrefixAffinity? Of(DispatchRequest request, SchedulingOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        return options.PrefixAffinityWeight > 0 && request is { PrefixBlocks: { Length: > 0 } blocks, PrefixBlockTokens: > 0 }
            ? new PrefixAffinity(blocks, request.PrefixBlockTokens, request.PromptTokens, options.PrefixAffinityWeight, options.PrefillSecondsPerToken)
            : null;
    }

    /// <summary>Prompt tokens <paramref name="node"/>'s prefix cache holds for <paramref name="model"/>, from the start of the prompt.</summary>
    public int CachedTokens(NodeSlots node, string model)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.CachedBlocks(model, Blocks, BlockTokens) * BlockTokens;
    }

    /// <summary>
    /// What placing the job on <paramref name="node"/> saves it, in the unit of its expected wait (seconds, or a share
    /// when no rate is known: <paramref name="meanRate"/> is the mean measured rate of the candidates).
    /// </summary>
    public double Saving(NodeSlots node, string model, double meanRate)
    {
        var cached = CachedTokens(node, model);
        if (cached == 0)
        {
            return 0;
        }

        var own = node.Report?.TokensPerSecond10s ?? 0;
        var rate = own > 0 ? own : meanRate;
        var saved = rate <= 0 ? (double)cached / Math.Max(cached, PromptTokens)
            : SecondsPerToken > 0 ? cached * SecondsPerToken
            : cached / rate;
        return Weight * saved;
    }
}
