using System.Numerics;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// One sequence's constraint while it generates: the frames its output may be in (several while a choice such as
/// <c>anyOf</c> is open), the tokens allowed next, and whether the output is complete. Each token allowed keeps the
/// output a prefix of a valid value that can still be finished within the sequence's remaining tokens (counting one
/// byte per token, which every byte-level vocabulary can do); so a sequence reaches a complete value before its
/// <c>max_tokens</c> unless the schema's shortest value does not fit. Touched by one thread at a time.
/// </summary>
public sealed class TokenConstraint
{
    /// <summary>Most frames followed at once: beyond it, later alternatives are dropped (the output stays valid).</summary>
    private const int MaxFrames = 64;

    private readonly TokenVocabulary _vocabulary;
    private readonly int[] _endIds;
    private List<Frame> _frames;

    /// <summary>Starts a constraint of <paramref name="grammar"/> over <paramref name="vocabulary"/>.</summary>
    /// <param name="grammar">The compiled schema.</param>
    /// <param name="vocabulary">The model's vocabulary.</param>
    /// <param name="endIds">The ids that end the sequence: allowed once the value is complete.</param>
    public TokenConstraint(JsonGrammar grammar, TokenVocabulary vocabulary, IEnumerable<int> endIds)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = vocabulary;
        _endIds = [.. (endIds ?? []).Where(id => (uint)id < (uint)vocabulary.Size)];
        _frames = [new ValueSlot(grammar.Root, EndFrame.Instance, 0)];
    }

    /// <summary>True when the value is complete and nothing more may follow: the sequence should end.</summary>
    public bool IsComplete => _frames.Count > 0 && _frames.TrueForAll(f => f is EndFrame);

    /// <summary>True when the value may end here (an end id is allowed).</summary>
    public bool Accepts => _frames.Exists(f => f.Accepts);

    /// <summary>True when a token outside the constraint was taken (only possible when nothing was allowed).</summary>
    public bool IsBroken => _frames.Count == 0;

    /// <summary>Fewest bytes that finish the value from here.</summary>
    public int Remaining => _frames.Count == 0 ? 0 : _frames.Min(f => f.Remaining);

    /// <summary>Takes a generated token. An end id or special token changes nothing.</summary>
    public void Advance(int token)
    {
        if (_vocabulary.Bytes(token) is not { } bytes)
        {
            return;
        }

        var current = _frames;
        foreach (var b in bytes)
        {
            var next = new List<Frame>(current.Count);
            foreach (var f in current)
            {
                f.Step(b, next);
                if (next.Count >= MaxFrames)
                {
                    break;
                }
            }

            current = next;
            if (current.Count == 0)
            {
                break;
            }
        }

        _frames = current;
    }

    /// <summary>
    /// Sets in <paramref name="mask"/> (one bit per id, <see cref="TokenVocabulary.Words"/> words) the tokens allowed
    /// next, given that <paramref name="tokensLeft"/> tokens may still be generated, this one included. When no token
    /// could still finish the value in time, the budget is dropped (the output then ends by length). Returns how many
    /// ids are allowed.
    /// </summary>
    public int FillMask(ulong[] mask, int tokensLeft, MaskScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(scratch);
        var count = Fill(mask, Math.Max(0, tokensLeft - 1), scratch);
        return count > 0 ? count : Fill(mask, int.MaxValue, scratch);
    }

    private int Fill(ulong[] mask, int limit, MaskScratch scratch)
    {
        Array.Clear(mask, 0, _vocabulary.Words);
        foreach (var frame in _frames)
        {
            if (frame is StringFrame { FreeRoom: >= 0 and var room } free)
            {
                // Between two characters of a free string: content that does not close the string is allowed by its
                // length alone (precomputed), so only the tokens that close it are walked. When the budget is tight,
                // content is allowed only as far as it shortens what is left (minLength).
                var needed = frame.Remaining <= limit ? 0 : frame.Remaining - limit;
                var content = free.IsKey ? _vocabulary.Plain : _vocabulary.Inside;
                if (needed <= free.Deficit)
                {
                    content.AddTo(mask, needed, room);
                }

                scratch.Walk(free.IsKey ? _vocabulary.Impure : _vocabulary.Closers, frame, limit, mask);
            }
            else
            {
                scratch.Walk(_vocabulary.All, frame, limit, mask);
            }
        }

        if (Accepts)
        {
            foreach (var id in _endIds)
            {
                mask[id >> 6] |= 1UL << (id & 63);
            }
        }

        var count = 0;
        for (var w = 0; w < _vocabulary.Words; w++)
        {
            count += BitOperations.PopCount(mask[w]);
        }

        return count;
    }

}

/// <summary>Working memory for computing masks: one per thread that samples.</summary>
public sealed class MaskScratch
{
    private readonly List<List<Frame>> _levels = [];

    /// <summary>
    /// Walks <paramref name="trie"/> from its root with <paramref name="start"/>: a token is allowed when its bytes
    /// leave some frame that can finish within <paramref name="limit"/> bytes; a byte no frame takes prunes its subtree.
    /// </summary>
    internal void Walk(ByteTokenTrie trie, Frame start, int limit, ulong[] mask)
    {
        var first = Level(0);
        first.Add(start);
        Walk(trie, 0, 0, limit, mask);
    }

    private void Walk(ByteTokenTrie trie, int node, int depth, int limit, ulong[] mask)
    {
        var frames = _levels[depth];
        var next = Level(depth + 1);
        for (var child = trie.ChildStart[node]; child < trie.ChildStart[node + 1]; child++)
        {
            next.Clear();
            var b = trie.Label[child];
            foreach (var f in frames)
            {
                f.Step(b, next);
            }

            if (next.Count == 0)
            {
                continue;
            }

            if (trie.TokenStart[child] < trie.TokenStart[child + 1] && next.Exists(f => f.Remaining <= limit))
            {
                for (var t = trie.TokenStart[child]; t < trie.TokenStart[child + 1]; t++)
                {
                    var id = trie.TokenIds[t];
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }

            if (trie.ChildStart[child] < trie.ChildStart[child + 1])
            {
                Walk(trie, child, depth + 1, limit, mask);
                next = _levels[depth + 1];
            }
        }

        frames.Clear();
    }

    private List<Frame> Level(int depth)
    {
        while (_levels.Count <= depth)
        {
            _levels.Add([]);
        }

        _levels[depth].Clear();
        return _levels[depth];
    }
}
