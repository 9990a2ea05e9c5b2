namespace TokenGrid.Inference.Constraints;

/// <summary>A trie of token bytes in flat arrays: each node's children are a contiguous run, each node lists the tokens ending there.</summary>
internal sealed class ByteTokenTrie
{
    /// <summary>Builds the trie of the tokens <paramref name="include"/> keeps.</summary>
    public ByteTokenTrie(byte[]?[] bytes, Func<int, bool> include)
    {
        var children = new List<SortedDictionary<byte, int>> { new() };
        var tokens = new List<List<int>?> { null };
        for (var id = 0; id < bytes.Length; id++)
        {
            if (bytes[id] is not { } token || !include(id))
            {
                continue;
            }

            var node = 0;
            foreach (var b in token)
            {
                if (!children[node].TryGetValue(b, out var next))
                {
                    next = children.Count;
                    children.Add([]);
                    tokens.Add(null);
                    children[node][b] = next;
                }

                node = next;
            }

            (tokens[node] ??= []).Add(id);
        }

        // Flatten breadth-first so that each node's children are a contiguous run.
        var order = new int[children.Count];
        var queue = new List<int> { 0 };
        for (var i = 0; i < queue.Count; i++)
        {
            order[queue[i]] = i;
            queue.AddRange(children[queue[i]].Values);
        }

        ChildStart = new int[queue.Count + 1];
        Label = new byte[queue.Count];
        TokenStart = new int[queue.Count + 1];
        var tokenIds = new List<int>();
        var next2 = 1;
        for (var i = 0; i < queue.Count; i++)
        {
            var old = queue[i];
            ChildStart[i] = next2;
            foreach (var (b, child) in children[old])
            {
                Label[order[child]] = b;
                next2++;
            }

            TokenStart[i] = tokenIds.Count;
            tokenIds.AddRange(tokens[old] ?? []);
        }

        ChildStart[queue.Count] = next2;
        TokenStart[queue.Count] = tokenIds.Count;
        TokenIds = [.. tokenIds];

        (SpaceNodes, SpaceDepths) = SpaceRuns(ChildStart, Label);
    }

    private ByteTokenTrie(int[] childStart, byte[] label, int[] tokenStart, int[] tokenIds)
    {
        (ChildStart, Label, TokenStart, TokenIds) = (childStart, label, tokenStart, tokenIds);
        (SpaceNodes, SpaceDepths) = SpaceRuns(childStart, label);
    }

    /// <summary>
    /// The trie of the tokens <paramref name="keep"/> keeps: this one's nodes in the same order, less those under which
    /// no kept token ends (a filtered run of children stays a run). Much cheaper than building it from the tokens.
    /// </summary>
    public ByteTokenTrie Where(Func<int, bool> keep)
    {
        // Breadth-first, children come after their parent: whether a node leads to a kept token, from the leaves up.
        var nodes = Label.Length;
        var live = new bool[nodes];
        for (var node = nodes - 1; node >= 0; node--)
        {
            for (var t = TokenStart[node]; t < TokenStart[node + 1] && !live[node]; t++)
            {
                live[node] = keep(TokenIds[t]);
            }

            for (var child = ChildStart[node]; child < ChildStart[node + 1] && !live[node]; child++)
            {
                live[node] = live[child];
            }
        }

        live[0] = true;
        var count = live.Count(l => l);
        var childStart = new int[count + 1];
        var label = new byte[count];
        var tokenStart = new int[count + 1];
        var tokenIds = new List<int>();
        var (next, nextChild) = (0, 1);
        for (var node = 0; node < nodes; node++)
        {
            if (!live[node])
            {
                continue;
            }

            childStart[next] = nextChild;
            for (var child = ChildStart[node]; child < ChildStart[node + 1]; child++)
            {
                nextChild += live[child] ? 1 : 0;
            }

            label[next] = Label[node];
            tokenStart[next] = tokenIds.Count;
            for (var t = TokenStart[node]; t < TokenStart[node + 1]; t++)
            {
                if (keep(TokenIds[t]))
                {
                    tokenIds.Add(TokenIds[t]);
                }
            }

            next++;
        }

        childStart[count] = nextChild;
        tokenStart[count] = tokenIds.Count;
        return new ByteTokenTrie(childStart, label, tokenStart, [.. tokenIds]);
    }

    /// <summary>Breadth-first, a node's parent comes first: the runs of whitespace from the root, with their lengths.</summary>
    private static (int[] Nodes, int[] Depths) SpaceRuns(int[] childStart, byte[] label)
    {
        var spaces = new List<int>();
        var depths = new List<int>();
        var depth = new int[label.Length];
        for (var i = -1; i < spaces.Count; i++)
        {
            var node = i < 0 ? 0 : spaces[i];
            for (var child = childStart[node]; child < childStart[node + 1]; child++)
            {
                if (Frame.IsSpace(label[child]))
                {
                    depth[child] = depth[node] + 1;
                    spaces.Add(child);
                    depths.Add(depth[child]);
                }
            }
        }

        return ([.. spaces], [.. depths]);
    }

    /// <summary>The nodes whose bytes from the root are all whitespace, shortest first.</summary>
    public int[] SpaceNodes { get; }

    /// <summary>How many bytes lead to each of <see cref="SpaceNodes"/>.</summary>
    public int[] SpaceDepths { get; }

    /// <summary>Where each node's children start (node <c>n</c>'s run ends where <c>n + 1</c>'s starts).</summary>
    public int[] ChildStart { get; }

    /// <summary>The byte that leads to each node.</summary>
    public byte[] Label { get; }

    /// <summary>Where each node's tokens start in <see cref="TokenIds"/>.</summary>
    public int[] TokenStart { get; }

    /// <summary>Token ids, grouped by the node where they end.</summary>
    public int[] TokenIds { get; }
}
