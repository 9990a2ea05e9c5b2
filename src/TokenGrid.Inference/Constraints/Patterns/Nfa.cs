namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A Thompson NFA over code-point sets built from a <see cref="RegexNode"/>, with each node's distance to acceptance.
/// A node either consumes one code point of <see cref="Sets"/>[n] and moves to <see cref="Next"/>[n], or moves
/// without input along <see cref="Epsilon"/>[n]. Node 0 accepts.
/// </summary>
internal sealed class Nfa
{
    /// <summary>The most nodes an NFA may have before the pattern counts as too complex.</summary>
    public const int MaxNodes = 200_000;

    public const int Accept = 0;

    private readonly List<CodePointSet?> _sets = [null];
    private readonly List<int> _next = [-1];
    private readonly List<int[]> _epsilon = [[]];

    private Nfa()
    {
    }

    public CodePointSet?[] Sets { get; private set; } = [];

    public int[] Next { get; private set; } = [];

    public int[][] Epsilon { get; private set; } = [];

    /// <summary>Fewest code points from each node to <see cref="Accept"/>; int.MaxValue when it cannot be reached.</summary>
    public int[] Distance { get; private set; } = [];

    public int Start { get; private set; }

    public int Count => Sets.Length;

    public static Nfa Build(RegexNode root)
    {
        var nfa = new Nfa();
        nfa.Start = nfa.Add(root, Accept);
        nfa.Sets = [.. nfa._sets];
        nfa.Next = [.. nfa._next];
        nfa.Epsilon = [.. nfa._epsilon];
        nfa.Distance = nfa.Distances();
        return nfa;
    }

    /// <summary>Whether node <paramref name="n"/> belongs in a DFA state: it consumes input or accepts, and is live.</summary>
    public bool IsKey(int n) => Distance[n] != int.MaxValue && (n == Accept || Sets[n] is { IsEmpty: false });

    // Builds the nodes of `node` followed by `next`, back to front, and returns the entry node.
    private int Add(RegexNode node, int next)
    {
        switch (node)
        {
            case SetNode set:
                return NewNode(set.Set, next, []);
            case SequenceNode seq:
                for (var k = seq.Parts.Count - 1; k >= 0; k--)
                {
                    next = Add(seq.Parts[k], next);
                }

                return next;
            case AlternationNode alt:
                return NewNode(null, -1, [.. alt.Choices.Select(c => Add(c, next))]);
            case RepeatNode rep:
                var tail = next;
                if (rep.Max < 0)
                {
                    var loop = NewNode(null, -1, []);
                    _epsilon[loop] = [Add(rep.Body, loop), next];
                    tail = loop;
                }
                else
                {
                    // (x(x(x)?)?)?: each optional copy may end the repetition.
                    for (var k = rep.Min; k < rep.Max; k++)
                    {
                        tail = NewNode(null, -1, [Add(rep.Body, tail), next]);
                    }
                }

                for (var k = 0; k < rep.Min; k++)
                {
                    tail = Add(rep.Body, tail);
                }

                return tail;
            default:
                throw new InvalidOperationException($"Unknown node {node.GetType().Name}.");
        }
    }

    private int NewNode(CodePointSet? set, int next, int[] epsilon)
    {
        if (_sets.Count >= MaxNodes)
        {
            throw new ConstraintException("pattern", "The pattern is too complex: it needs too many automaton states.");
        }

        _sets.Add(set);
        _next.Add(next);
        _epsilon.Add(epsilon);
        return _sets.Count - 1;
    }

    // 0-1 breadth-first search backwards from Accept: consuming a code point costs 1, an epsilon move 0.
    private int[] Distances()
    {
        var incoming = new List<(int From, int Cost)>[Count];
        for (var n = 0; n < Count; n++)
        {
            incoming[n] = [];
        }

        for (var n = 0; n < Count; n++)
        {
            if (Sets[n] is { IsEmpty: false })
            {
                incoming[Next[n]].Add((n, 1));
            }

            foreach (var e in Epsilon[n])
            {
                incoming[e].Add((n, 0));
            }
        }

        var distance = new int[Count];
        Array.Fill(distance, int.MaxValue);
        distance[Accept] = 0;
        var deque = new LinkedList<int>();
        deque.AddFirst(Accept);
        while (deque.First is { } first)
        {
            deque.RemoveFirst();
            var n = first.Value;
            foreach (var (from, cost) in incoming[n])
            {
                if (distance[n] + cost < distance[from])
                {
                    distance[from] = distance[n] + cost;
                    if (cost == 0)
                    {
                        deque.AddFirst(from);
                    }
                    else
                    {
                        deque.AddLast(from);
                    }
                }
            }
        }

        return distance;
    }
}
