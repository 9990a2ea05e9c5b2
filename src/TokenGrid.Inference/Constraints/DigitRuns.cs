using System.Collections.Concurrent;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Which of the tokens made of ASCII digits only (<c>7</c>, <c>42</c>, <c>000</c>) a frame takes, so the mask sets them
/// without stepping each (a vocabulary such as cl100k_base has a thousand of them, all three digits and under). In a
/// number without bounds a run of digits is taken or refused by its length alone: the longest run beginning with
/// <c>0</c> and the longest beginning with another digit (0: none). In a number with bounds it is read from
/// <paramref name="Table"/>, the runs the number's state takes with the bytes each leaves it owing, of which those
/// owing at most <paramref name="Owing"/> are taken.
/// </summary>
/// <param name="ZeroLed">Longest run beginning with <c>0</c> that is taken.</param>
/// <param name="Others">Longest run beginning with 1 to 9 that is taken.</param>
/// <param name="Table">The runs of a number with bounds; null when there is none.</param>
/// <param name="Owing">Most bytes a run of <paramref name="Table"/> may leave its number owing.</param>
internal readonly record struct DigitRuns(int ZeroLed, int Others, DigitTable? Table = null, int Owing = 0)
{
    /// <summary>No run of digits is taken.</summary>
    public static DigitRuns None => default;

    /// <summary>The runs either takes; null when both hold a table (not combined: the tokens are walked).</summary>
    public DigitRuns? Or(DigitRuns other) => Table is not null && other.Table is not null
        ? null
        : new DigitRuns(Math.Max(ZeroLed, other.ZeroLed), Math.Max(Others, other.Others), Table ?? other.Table, Table is null ? other.Owing : Owing);

    /// <summary>
    /// The runs a value of <paramref name="node"/> that continues to <paramref name="parent"/> takes from its start:
    /// those of every frame it may begin with; null when one of them does not know its runs.
    /// </summary>
    public static DigitRuns? OfStart(SchemaNode node, Frame parent, TokenVocabulary vocabulary, int limit)
    {
        if (!node.FirstBytes.HasDigit)
        {
            return None;
        }

        var first = new List<Frame>(2);
        Frame.Start(node, parent, first);
        var runs = None;
        foreach (var f in first)
        {
            if (f.Digits(vocabulary, limit) is not { } own || runs.Or(own) is not { } both)
            {
                return null;
            }

            runs = both;
        }

        return runs;
    }
}

/// <summary>For a number with bounds in one state: the runs of digits it takes, with the bytes each leaves it owing.</summary>
/// <param name="Ids">The tokens.</param>
/// <param name="Owed">For each, the bytes its number still needs after it (0: complete).</param>
internal sealed record DigitTable(int[] Ids, int[] Owed);

/// <summary>
/// A vocabulary's tokens made of ASCII digits only: by length, apart by whether they begin with <c>0</c>, for numbers
/// without bounds; and for numbers with bounds, the runs each state takes, computed once per state and kept.
/// </summary>
internal sealed class DigitTokens
{
    /// <summary>Most number states whose runs are kept; beyond it the cache starts over.</summary>
    private const int MaxTables = 1_024;

    private readonly LengthBuckets _zeroLed;
    private readonly LengthBuckets _others;
    private readonly ByteTokenTrie _trie;
    private readonly ConcurrentDictionary<(NumberNode, NumberPrefix), DigitTable> _tables = new();

    /// <summary>Sorts the tokens of <paramref name="bytes"/> made of digits only.</summary>
    public DigitTokens(byte[]?[] bytes)
    {
        _zeroLed = new LengthBuckets(bytes.Length, id => IsDigits(bytes[id]) && bytes[id]![0] == '0' ? bytes[id]!.Length : 0);
        _others = new LengthBuckets(bytes.Length, id => IsDigits(bytes[id]) && bytes[id]![0] != '0' ? bytes[id]!.Length : 0);
        _trie = new ByteTokenTrie(bytes, id => IsDigits(bytes[id]));
    }

    /// <summary>Whether <paramref name="token"/> is made of ASCII digits only.</summary>
    public static bool IsDigits(byte[]? token) => token is { Length: > 0 } && token.AsSpan().IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;

    /// <summary>Sets in <paramref name="mask"/> the digit tokens that <paramref name="runs"/> takes.</summary>
    public void AddTo(ulong[] mask, DigitRuns runs)
    {
        _zeroLed.AddTo(mask, 1, runs.ZeroLed);
        _others.AddTo(mask, 1, runs.Others);
        if (runs.Table is { } table)
        {
            for (var i = 0; i < table.Ids.Length; i++)
            {
                if (table.Owed[i] <= runs.Owing)
                {
                    var id = table.Ids[i];
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }
    }

    /// <summary>
    /// The runs of digits a number of <paramref name="node"/> written as far as <paramref name="prefix"/> takes, each
    /// with the bytes its number still needs: found once by stepping the number (with nothing after it) through the
    /// trie of digit tokens, then kept.
    /// </summary>
    public DigitTable Table(NumberNode node, NumberPrefix prefix)
    {
        if (_tables.TryGetValue((node, prefix), out var known))
        {
            return known;
        }

        var ids = new List<int>();
        var owed = new List<int>();
        var pending = new Stack<(int Node, List<Frame> Frames)>();
        pending.Push((0, [new NumberFrame(node, prefix, EndFrame.Instance)]));
        while (pending.TryPop(out var at))
        {
            for (var child = _trie.ChildStart[at.Node]; child < _trie.ChildStart[at.Node + 1]; child++)
            {
                var next = new List<Frame>(1);
                foreach (var f in at.Frames)
                {
                    f.Step(_trie.Label[child], next);
                }

                if (next.Count == 0)
                {
                    continue;
                }

                var least = next.Min(f => f.Remaining);
                for (var t = _trie.TokenStart[child]; t < _trie.TokenStart[child + 1]; t++)
                {
                    ids.Add(_trie.TokenIds[t]);
                    owed.Add(least);
                }

                pending.Push((child, next));
            }
        }

        if (_tables.Count >= MaxTables)
        {
            _tables.Clear();
        }

        return _tables.GetOrAdd((node, prefix), new DigitTable([.. ids], [.. owed]));
    }
}
