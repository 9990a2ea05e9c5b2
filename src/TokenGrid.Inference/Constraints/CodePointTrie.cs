namespace TokenGrid.Inference.Constraints;

/// <summary>
/// The tokens of string content that ends between characters, by the code points they write (escapes decoded), in a
/// trie whose children are in code-point order: a pattern state's table is then one walk that follows only the code
/// points the state takes, instead of a pass over every token.
/// </summary>
internal sealed class CodePointTrie
{
    private readonly int[] _firstChild;
    private readonly int[] _nextSibling;
    private readonly int[] _label;
    private readonly int[] _tokenStart;
    private readonly int[] _tokenIds;

    /// <summary>Builds the trie of the tokens with code points in <paramref name="points"/> (null: not content).</summary>
    public CodePointTrie(int[]?[] points)
    {
        var ids = Enumerable.Range(0, points.Length).Where(id => points[id] is not null).ToArray();
        Array.Sort(ids, (a, b) => points[a].AsSpan().SequenceCompareTo(points[b]!));

        // Sorted, each token shares a prefix with the one before: a node per code point past that prefix, in preorder,
        // so each node's children are created in code-point order.
        var firstChild = new List<int> { -1 };
        var nextSibling = new List<int> { -1 };
        var label = new List<int> { -1 };
        var lastChild = new List<int> { -1 };
        var endsAt = new int[ids.Length];
        var path = new List<int> { 0 };
        int[] previous = [];
        for (var i = 0; i < ids.Length; i++)
        {
            var token = points[ids[i]]!;
            var shared = 0;
            while (shared < token.Length && shared < previous.Length && token[shared] == previous[shared])
            {
                shared++;
            }

            path.RemoveRange(shared + 1, path.Count - shared - 1);
            for (var k = shared; k < token.Length; k++)
            {
                var parent = path[^1];
                var node = firstChild.Count;
                firstChild.Add(-1);
                nextSibling.Add(-1);
                label.Add(token[k]);
                lastChild.Add(-1);
                if (lastChild[parent] < 0)
                {
                    firstChild[parent] = node;
                }
                else
                {
                    nextSibling[lastChild[parent]] = node;
                }

                lastChild[parent] = node;
                path.Add(node);
            }

            endsAt[i] = path[^1];
            previous = token;
        }

        _firstChild = [.. firstChild];
        _nextSibling = [.. nextSibling];
        _label = [.. label];
        _tokenStart = new int[_label.Length + 1];
        foreach (var node in endsAt)
        {
            _tokenStart[node + 1]++;
        }

        for (var n = 0; n < _label.Length; n++)
        {
            _tokenStart[n + 1] += _tokenStart[n];
        }

        _tokenIds = new int[ids.Length];
        var fill = (int[])_tokenStart.Clone();
        for (var i = 0; i < ids.Length; i++)
        {
            _tokenIds[fill[endsAt[i]]++] = ids[i];
        }
    }

    /// <summary>
    /// Sets in <paramref name="bits"/> the tokens <paramref name="automaton"/> takes whole from <paramref name="state"/>:
    /// every code point keeps it alive.
    /// </summary>
    public void Live(PatternAutomaton automaton, int state, ulong[] bits)
    {
        var nodes = new Stack<(int Node, int State)>();
        nodes.Push((0, state));
        while (nodes.TryPop(out var at))
        {
            var (lows, targets) = automaton.TableOf(at.State);
            var k = 0;
            for (var child = _firstChild[at.Node]; child >= 0; child = _nextSibling[child])
            {
                var point = _label[child];
                while (k + 1 < lows.Length && lows[k + 1] <= point)
                {
                    k++;
                }

                var next = targets[k];
                if (next < 0)
                {
                    continue;
                }

                for (var t = _tokenStart[child]; t < _tokenStart[child + 1]; t++)
                {
                    var id = _tokenIds[t];
                    bits[id >> 6] |= 1UL << (id & 63);
                }

                if (_firstChild[child] >= 0)
                {
                    nodes.Push((child, next));
                }
            }
        }
    }
}
