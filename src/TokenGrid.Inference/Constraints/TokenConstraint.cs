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
        _ = vocabulary.PreparePatterns(grammar.Patterns);
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
        if (_vocabulary.Bytes(token) is { } bytes)
        {
            Advance(bytes);
        }
    }

    /// <summary>Takes output bytes (part of a token: what follows a trigger in it).</summary>
    public void Advance(ReadOnlySpan<byte> bytes)
    {
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

    /// <summary>
    /// The same mask as <see cref="FillMask"/>, found the slow way: every token walked byte by byte from every frame,
    /// with no precomputed table. For tests, to check the fast way against.
    /// </summary>
    internal int FillMaskByWalking(ulong[] mask, int tokensLeft, MaskScratch scratch)
    {
        var count = WalkAll(mask, Math.Max(0, tokensLeft - 1), scratch);
        return count > 0 ? count : WalkAll(mask, int.MaxValue, scratch);
    }

    private int WalkAll(ulong[] mask, int limit, MaskScratch scratch)
    {
        Array.Clear(mask, 0, _vocabulary.Words);
        foreach (var frame in _frames)
        {
            scratch.WalkEveryByte(_vocabulary.All, frame, limit, mask);
        }

        if (Accepts)
        {
            foreach (var id in _endIds)
            {
                mask[id >> 6] |= 1UL << (id & 63);
            }
        }

        return mask.Sum(w => BitOperations.PopCount(w));
    }

    private int Fill(ulong[] mask, int limit, MaskScratch scratch)
    {
        Array.Clear(mask, 0, _vocabulary.Words);
        foreach (var frame in _frames)
        {
            if (frame is StringFrame { FreeRoom: >= 0 and var room } free)
            {
                scratch.FreeString(_vocabulary, _vocabulary.Body, free, room, limit, mask);
            }
            else if (frame is StringFrame { PatternPlace: var (pattern, state, space) } && frame.Remaining + pattern.LongestRemaining <= limit)
            {
                // Between two characters of a string with a pattern, with room in the budget for whatever the pattern
                // may still owe: the content the pattern takes whole comes from its state's table; the tokens that
                // close the string or end inside a character are walked.
                _vocabulary.Body.Inside.AddTo(mask, 1, space, _vocabulary.PatternContent(pattern, state));
                scratch.Walk(_vocabulary.Closers, frame, limit, mask);
            }
            else if (frame is StringFrame { AfterEscape: { FreeRoom: >= 0 and var escapedRoom } escaped })
            {
                // A free string after a backslash: every escape leads to the same string, so the tokens that end the
                // escape come from the tables of what they write after it, as after an opening quote.
                if (escaped.Remaining <= limit)
                {
                    foreach (var id in _vocabulary.EscapeEnds)
                    {
                        mask[id >> 6] |= 1UL << (id & 63);
                    }
                }

                scratch.FreeString(_vocabulary, _vocabulary.Escaped, escaped, escapedRoom, limit, mask);
            }
            else if (frame.Digits(_vocabulary, limit) is { } digits)
            {
                // The tokens made of digits only come from the digit tables; every other token is walked.
                _vocabulary.Digits.AddTo(mask, digits);
                scratch.Walk(_vocabulary.NonDigits, frame, limit, mask, _vocabulary);
            }
            else
            {
                scratch.Walk(_vocabulary.All, frame, limit, mask, _vocabulary);
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
