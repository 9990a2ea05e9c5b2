using System.Threading.Channels;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// The tokens of one accepted sequence, delivered as the decode loop produces them, and its final
/// result. Enumerate it once. Cancelling the token given to <see cref="InferenceEngine.Submit"/>
/// ends the sequence at the next step and frees its slot; the result then says
/// <see cref="FinishReason.Cancelled"/> with the usage so far.
/// </summary>
public sealed class GenerationStream : IAsyncEnumerable<GeneratedToken>
{
    private readonly ChannelReader<GeneratedToken> _tokens;

    internal GenerationStream(ChannelReader<GeneratedToken> tokens, Task<GenerationResult> completion, int promptTokens, int maxTokens)
    {
        _tokens = tokens;
        Completion = completion;
        PromptTokens = promptTokens;
        MaxTokens = maxTokens;
    }

    /// <summary>Completes when the sequence has left the batch; never faults.</summary>
    public Task<GenerationResult> Completion { get; }

    /// <summary>Prompt tokens of the request.</summary>
    public int PromptTokens { get; }

    /// <summary>The effective output limit after capping to the context length.</summary>
    public int MaxTokens { get; }

    /// <summary>
    /// True when the sequence copied its prompt's cache from a sibling instead of prefilling it
    /// (<see cref="GenerationRequest.ForkKey"/>); known once the first token has arrived.
    /// </summary>
    public bool PromptShared => _promptShared;

    private volatile bool _promptShared;

    /// <summary>
    /// Prompt tokens the sequence took from the prefix cache instead of prefilling them (as its result reports them);
    /// known once the first token has arrived, so a caller that stops reading before the end still has it. A sequence
    /// that shares its prompt with a sibling (n &gt; 1) reports the sibling's: the prompt was computed once, with those.
    /// </summary>
    public int CachedPromptTokens => _cachedPromptTokens;

    private volatile int _cachedPromptTokens;

    internal void MarkPromptShared() => _promptShared = true;

    internal void MarkCached(int tokens) => _cachedPromptTokens = tokens;

    /// <inheritdoc />
    public IAsyncEnumerator<GeneratedToken> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        _tokens.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
}
