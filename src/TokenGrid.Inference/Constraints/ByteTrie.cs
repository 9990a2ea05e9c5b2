namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A trie over byte strings (literal values, property keys): node 0 is the root, each node knows its children, whether
/// a string ends there and the fewest bytes from it to such an end. Immutable once built.
/// </summary>
internal sealed class ByteTrie
{
    private readonly List<Dictionary<byte, int>> _children = [];
    private readonly List<bool> _terminal = [];
    private readonly int[] _minRemaining;

    /// <summary>Builds the trie of <paramref name="strings"/>.</summary>
    public ByteTrie(IReadOnlyList<byte[]> strings)
    {
        NewNode();
        foreach (var s in strings)
        {
            var node = 0;
            foreach (var b in s)
            {
                if (!_children[node].TryGetValue(b, out var next))
                {
                    next = NewNode();
                    _children[node][b] = next;
                }

                node = next;
            }

            _terminal[node] = true;
        }

        IsEmpty = strings.Count == 0;
        _minRemaining = new int[_children.Count];
        for (var node = _children.Count - 1; node >= 0; node--)
        {
            // Children are always created after their parent, so a reverse pass sees every child first.
            var best = _terminal[node] ? 0 : SchemaNode.Unsatisfiable;
            foreach (var child in _children[node].Values)
            {
                best = Math.Min(best, _minRemaining[child] + 1);
            }

            _minRemaining[node] = best;
        }
    }

    /// <summary>True when the trie holds no string.</summary>
    public bool IsEmpty { get; }

    /// <summary>Nodes in the trie.</summary>
    public int NodeCount => _children.Count;

    /// <summary>The bytes that lead somewhere from <paramref name="node"/>.</summary>
    public ByteSet ChildBytes(int node)
    {
        var set = default(ByteSet);
        foreach (var b in _children[node].Keys)
        {
            set.Add(b);
        }

        return set;
    }

    /// <summary>The node reached from <paramref name="node"/> by <paramref name="b"/>, or -1.</summary>
    public int Next(int node, byte b) => _children[node].TryGetValue(b, out var next) ? next : -1;

    /// <summary>Whether a string ends at <paramref name="node"/>.</summary>
    public bool IsTerminal(int node) => _terminal[node];

    /// <summary>Whether a string continues past <paramref name="node"/>.</summary>
    public bool HasChildren(int node) => _children[node].Count > 0;

    /// <summary>Fewest bytes from <paramref name="node"/> to the end of a string.</summary>
    public int MinRemaining(int node) => _minRemaining[node];

    /// <summary>The node where <paramref name="s"/> ends, or -1.</summary>
    public int Find(ReadOnlySpan<byte> s)
    {
        var node = 0;
        foreach (var b in s)
        {
            node = Next(node, b);
            if (node < 0)
            {
                return -1;
            }
        }

        return node;
    }

    /// <summary>The nodes visited by <paramref name="s"/> from the root (the root first), as far as it is in the trie.</summary>
    public IEnumerable<int> Path(byte[] s)
    {
        var node = 0;
        yield return node;
        foreach (var b in s)
        {
            node = Next(node, b);
            if (node < 0)
            {
                yield break;
            }

            yield return node;
        }
    }

    private int NewNode()
    {
        _children.Add([]);
        _terminal.Add(false);
        return _children.Count - 1;
    }
}

/// <summary>A set of property indexes of one object, immutable: adding gives a new set.</summary>
internal readonly struct PropertySet
{
    private readonly ulong[]? _bits;

    private PropertySet(ulong[] bits) => _bits = bits;

    /// <summary>No property.</summary>
    public static PropertySet Empty => default;

    /// <summary>Whether <paramref name="index"/> is in the set.</summary>
    public bool Contains(int index) =>
        _bits is { } bits && index >> 6 < bits.Length && (bits[index >> 6] & (1UL << (index & 63))) != 0;

    /// <summary>This set with <paramref name="index"/>.</summary>
    public PropertySet With(int index)
    {
        var words = Math.Max(_bits?.Length ?? 0, (index >> 6) + 1);
        var bits = new ulong[words];
        _bits?.CopyTo(bits, 0);
        bits[index >> 6] |= 1UL << (index & 63);
        return new PropertySet(bits);
    }
}
