namespace TokenGrid.Inference.Constraints;

/// <summary>
/// The subset construction of one DFA state at a time: a DFA state is the sorted set (its key) of the live NFA nodes
/// that consume input or accept. Not thread-safe: its owner calls it under a lock. Counts its work and throws
/// "too complex" past a budget, so that no pattern can hold a core for long.
/// </summary>
internal sealed class SubsetBuilder(Nfa nfa)
{
    /// <summary>
    /// Range cells, closure steps and key entries one automaton may spend in total: a few hundred milliseconds on a
    /// loaded core. Real patterns and the formats take under 20,000; <c>(a|aa)*b{1000}</c> about 4 million.
    /// </summary>
    public const long MaxWork = 5_000_000;

    private readonly int[] _mark = new int[nfa.Count];
    private readonly Stack<int> _stack = new();
    private int _stamp;
    private long _work;

    /// <summary>The work spent so far.</summary>
    public long Work => _work;

    /// <summary>The key of the nodes reachable from <paramref name="seeds"/> without input.</summary>
    public int[] Closure(IEnumerable<int> seeds)
    {
        _stamp++;
        Spend(1);
        var key = new List<int>();
        foreach (var seed in seeds)
        {
            Visit(seed);
        }

        while (_stack.TryPop(out var n))
        {
            Spend(1);
            if (nfa.IsKey(n))
            {
                key.Add(n);
            }

            foreach (var e in nfa.Epsilon[n])
            {
                Visit(e);
            }
        }

        key.Sort();
        Spend(key.Count); // the key is sorted, hashed and compared when it becomes a state
        return [.. key];
    }

    /// <summary>
    /// The transitions of the DFA state <paramref name="key"/>: cells of code points starting at Lows[k], each
    /// leading to the key Targets[k], or null where nothing can follow. Adjacent cells with one target are merged.
    /// </summary>
    public (int[] Lows, int[]?[] Targets) Transitions(int[] key)
    {
        // Every range start and end + 1 bounds a cell in which each NFA node either moves or does not.
        var bounds = new SortedSet<int> { 0 };
        foreach (var n in key)
        {
            if (nfa.Sets[n] is { } set)
            {
                for (var r = 0; r < set.RangeCount; r++)
                {
                    bounds.Add(set.First(r));
                    bounds.Add(set.Last(r) + 1);
                }
            }
        }

        bounds.Remove(CodePointSet.MaxCodePoint + 1);
        var lows = bounds.ToArray();
        var moves = new List<int>?[lows.Length];
        foreach (var n in key)
        {
            if (nfa.Sets[n] is not { } set)
            {
                continue;
            }

            for (var r = 0; r < set.RangeCount; r++)
            {
                for (var k = Array.BinarySearch(lows, set.First(r)); k < lows.Length && lows[k] <= set.Last(r); k++)
                {
                    Spend(1);
                    (moves[k] ??= []).Add(nfa.Next[n]);
                }
            }
        }

        var memo = new Dictionary<int[], int[]?>(KeyComparer.Instance);
        var outLows = new List<int>();
        var outTargets = new List<int[]?>();
        for (var k = 0; k < lows.Length; k++)
        {
            var target = moves[k] is { } next ? TargetOf(next, memo) : null;
            if (outTargets.Count > 0 && SameKey(outTargets[^1], target))
            {
                continue;
            }

            outLows.Add(lows[k]);
            outTargets.Add(target);
        }

        return ([.. outLows], [.. outTargets]);
    }

    private int[]? TargetOf(List<int> next, Dictionary<int[], int[]?> memo)
    {
        Spend(next.Count);
        next.Sort();
        int[] moves = [.. next.Distinct()];
        if (!memo.TryGetValue(moves, out var key))
        {
            key = Closure(moves);
            memo[moves] = key = key.Length == 0 ? null : key;
        }

        return key;
    }

    private static bool SameKey(int[]? a, int[]? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.AsSpan().SequenceEqual(b));

    private void Visit(int n)
    {
        if (_mark[n] != _stamp)
        {
            _mark[n] = _stamp;
            _stack.Push(n);
        }
    }

    private void Spend(int units)
    {
        _work += units;
        if (_work > MaxWork)
        {
            throw new ConstraintException("pattern", "The pattern is too complex: building its automaton takes too long.");
        }
    }
}

/// <summary>Compares DFA keys (sorted NFA node sets) by content.</summary>
internal sealed class KeyComparer : IEqualityComparer<int[]>
{
    public static KeyComparer Instance { get; } = new();

    public bool Equals(int[]? x, int[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(int[] key)
    {
        var hash = new HashCode();
        hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key.AsSpan()));
        return hash.ToHashCode();
    }
}
