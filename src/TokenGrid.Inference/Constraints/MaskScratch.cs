namespace TokenGrid.Inference.Constraints;

/// <summary>Working memory for computing masks: one per thread that samples.</summary>
public sealed partial class MaskScratch
{
    private readonly List<List<Frame>> _levels = [];
    private TokenVocabulary? _vocabulary;
    private MaskScratch? _nested;
    private StringBodies? _body;
    private int _minChars;
    private int _maxChars = int.MaxValue;

    /// <summary>
    /// Walks <paramref name="trie"/> from its root with <paramref name="start"/>: a token is allowed when its bytes
    /// leave some frame that can finish within <paramref name="limit"/> bytes; a byte no frame takes prunes its subtree.
    /// With <paramref name="vocabulary"/>, tokens that open a free string are allowed from its precomputed tables
    /// instead of being walked byte by byte. With <paramref name="body"/>, a token is allowed only when the characters
    /// it writes in the string before its quote lie in [<paramref name="minChars"/>, <paramref name="maxChars"/>].
    /// </summary>
    internal void Walk(ByteTokenTrie trie, Frame start, int limit, ulong[] mask, TokenVocabulary? vocabulary = null,
        StringBodies? body = null, int minChars = 0, int maxChars = int.MaxValue)
    {
        _everyByte = false;
        var first = Level(0);
        first.Add(start);
        _vocabulary = vocabulary;
        (_body, _minChars, _maxChars) = (body, minChars, maxChars);
        if (vocabulary is null || body is not null || start.SpacesFrame is not { } spaced || trie.SpaceNodes.Length == 0)
        {
            Walk(trie, 0, 0, limit, mask);
            return;
        }

        // A frame that takes whitespace as itself (or a complete value whose container does): the runs of whitespace
        // are read from the trie's list of them, and only what follows a run is stepped, from the frame that takes
        // the whitespace (a byte after whitespace does what it does first).
        _skipSpaces = true;
        Walk(trie, 0, 0, limit, mask);
        _skipSpaces = false;
        var within = spaced.Remaining <= limit;
        var taken = spaced.FirstBytes;
        for (var i = 0; i < trie.SpaceNodes.Length; i++)
        {
            var (node, depth) = (trie.SpaceNodes[i], trie.SpaceDepths[i]);
            if (spaced.Spaces + depth > Frame.MaxSpaces)
            {
                continue;
            }

            for (var t = trie.TokenStart[node]; t < trie.TokenStart[node + 1] && within; t++)
            {
                var id = trie.TokenIds[t];
                mask[id >> 6] |= 1UL << (id & 63);
            }

            for (var child = trie.ChildStart[node]; child < trie.ChildStart[node + 1]; child++)
            {
                var b = trie.Label[child];
                if (!Frame.IsSpace(b) && taken.Contains(b))
                {
                    Level(depth).Add(spaced);
                    Level(depth + 1);
                    Visit(trie, child, depth, limit, mask);
                }
            }
        }
    }

    private bool _skipSpaces;

    /// <summary>
    /// The plain walk, for tests to check the others against: every token of <paramref name="trie"/> stepped byte by
    /// byte from <paramref name="start"/>, each byte tried on every frame (no table, no first-byte pruning).
    /// </summary>
    internal void WalkEveryByte(ByteTokenTrie trie, Frame start, int limit, ulong[] mask)
    {
        _everyByte = true;
        _vocabulary = null;
        (_body, _minChars, _maxChars) = (null, 0, int.MaxValue);
        var first = Level(0);
        first.Add(start);
        Walk(trie, 0, 0, limit, mask);
        _everyByte = false;
    }

    private bool _everyByte;

    /// <summary>
    /// Sets the tokens allowed in <paramref name="frame"/>, a free string (no pattern, between two characters), read
    /// with <paramref name="body"/> (inside the string, after an opening quote or after an escape): content by length
    /// (when the budget is tight, only content that shortens what is left, toward <c>minLength</c>), content owing bytes
    /// when the budget has room for them, and the closers whose bytes after the quote the string's container takes.
    /// </summary>
    internal void FreeString(TokenVocabulary vocabulary, StringBodies body, StringFrame frame, int room, int limit, ulong[] mask)
    {
        var key = frame.IsKey;
        var needed = frame.Remaining - limit;
        if (needed <= 0 || needed <= frame.Deficit)
        {
            // Content of c characters leaves Remaining - min(c, Deficit) to write.
            (key ? body.Plain : body.Inside).AddTo(mask, Math.Max(1, needed), room);
        }

        for (var owed = 1; owed <= StringBodies.MaxOwed; owed++)
        {
            // Left to write after such a token: what is left now, less the characters it gives toward minLength, plus
            // the bytes it owes. Within the budget for any length, or from some length on.
            var excess = frame.Remaining + owed - limit;
            var shortest = Math.Max(1, excess);
            if (excess <= 0 || shortest <= frame.Deficit)
            {
                body.Dangling[owed, 0].AddTo(mask, shortest, room);
                if (!key)
                {
                    body.Dangling[owed, 1].AddTo(mask, shortest, room);
                }
            }
        }

        if (key)
        {
            // A free key is checked against the object's keys when it closes, which needs its text: walk the closers.
            if (ReferenceEquals(body, vocabulary.Body))
            {
                FreeKeyClosers(vocabulary, frame, room, limit, mask);
            }
            else
            {
                WalkOpening(vocabulary, frame, limit, mask);
            }

            return;
        }

        var suffixes = body.Suffixes;
        var parent = frame.Parent!;
        if (parent.Remaining <= limit)
        {
            for (var t = suffixes.TokenStart[0]; t < suffixes.TokenStart[1]; t++)
            {
                var id = suffixes.TokenIds[t];
                if (body.PrefixChars[id] >= frame.Deficit && body.PrefixChars[id] <= room)
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }

        Walk(suffixes, parent, limit, mask, null, body, frame.Deficit, room);
    }

    private void WalkOpening(TokenVocabulary vocabulary, StringFrame frame, int limit, ulong[] mask)
    {
        // The closers that open and close a free key in one token: rare enough to walk from the key's frame.
        var closers = vocabulary.Opening.Suffixes;
        for (var t = 0; t < closers.TokenIds.Length; t++)
        {
            var id = closers.TokenIds[t];
            if (vocabulary.Bytes(id) is not { } bytes)
            {
                continue;
            }

            if (StepsWithin(bytes, 1, frame, limit))
            {
                mask[id >> 6] |= 1UL << (id & 63);
            }
        }
    }

    /// <summary>Children at which a node's run is searched by byte rather than scanned (when few bytes are taken).</summary>
    private const int SearchedChildren = 16;

    private void Walk(ByteTokenTrie trie, int node, int depth, int limit, ulong[] mask)
    {
        var frames = _levels[depth];
        Level(depth + 1);
        var taken = _everyByte ? ByteSet.All : default;
        for (var i = 0; i < frames.Count && !_everyByte; i++)
        {
            taken.Union(frames[i].FirstBytes);
        }

        if (depth == 0 && _skipSpaces)
        {
            taken.Except(ByteSet.Spaces);
        }

        var (first, end) = (trie.ChildStart[node], trie.ChildStart[node + 1]);
        if (end - first > SearchedChildren && taken.Count < (end - first) / 2)
        {
            // Few bytes taken among many children: find each taken byte's child instead of stepping every child.
            for (var w = 0; w < 4; w++)
            {
                var bits = taken.Word(w);
                while (bits != 0)
                {
                    var b = (byte)((w << 6) | System.Numerics.BitOperations.TrailingZeroCount(bits));
                    bits &= bits - 1;
                    var child = Array.BinarySearch(trie.Label, first, end - first, b);
                    if (child >= 0)
                    {
                        Visit(trie, child, depth, limit, mask);
                    }
                }
            }
        }
        else
        {
            for (var child = first; child < end; child++)
            {
                if (taken.Contains(trie.Label[child]))
                {
                    Visit(trie, child, depth, limit, mask);
                }
            }
        }

        frames.Clear();
    }

    /// <summary>Steps the frames at <paramref name="depth"/> by the byte of <paramref name="child"/> and goes on below it.</summary>
    private void Visit(ByteTokenTrie trie, int child, int depth, int limit, ulong[] mask)
    {
        var frames = _levels[depth];
        var next = _levels[depth + 1];
        next.Clear();
        var b = trie.Label[child];
        foreach (var f in frames)
        {
            f.Step(b, next);
        }

        if (next.Count == 0)
        {
            return;
        }

        if (trie.TokenStart[child] < trie.TokenStart[child + 1] && AnyWithin(next, limit))
        {
            for (var t = trie.TokenStart[child]; t < trie.TokenStart[child + 1]; t++)
            {
                var id = trie.TokenIds[t];
                if ((_body is null || (_body.PrefixChars[id] >= _minChars && _body.PrefixChars[id] <= _maxChars)) && !(_exclude && _excluded.Contains(id)))
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }

        if (trie.ChildStart[child] == trie.ChildStart[child + 1])
        {
            return;
        }

        if (depth == 0 && b == '"' && _vocabulary is { } vocabulary && OpensFreeStrings(next, limit))
        {
            // Every frame is a free string just opened: the tokens under this quote come from the tables (with a
            // scratch of its own, since this walk's levels are in use).
            var nested = _nested ??= new MaskScratch();
            foreach (var f in next)
            {
                var s = (StringFrame)f;
                nested.FreeString(vocabulary, vocabulary.Opening, s, s.FreeRoom, limit, mask);
            }

            return;
        }

        if (_vocabulary is { } vocabulary2 && OpensFreeStrings(next, limit))
        {
            // Deeper in (whitespace or a comma before the quote), or after the escape or the character a string was
            // in the middle of, the same: each token under this byte is read as the string's body in one pass, and
            // only what follows a closing quote is stepped.
            var nested = _nested ??= new MaskScratch();
            foreach (var f in next)
            {
                nested.OpenedStrings(vocabulary2, trie, child, depth + 1, (StringFrame)f, limit, mask);
            }

            return;
        }

        Walk(trie, child, depth + 1, limit, mask);
    }

    private static bool AnyWithin(List<Frame> frames, int limit)
    {
        foreach (var f in frames)
        {
            if (f.Remaining <= limit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Sets the tokens under <paramref name="node"/> (reached <paramref name="offset"/> bytes in, by an opening quote or
    /// the end of a character or escape) that <paramref name="frame"/>, the free string or key there, allows: each
    /// token's bytes from there read as the string's body by <see cref="StringBodies.Read"/>, and, for one that closes
    /// the string, its bytes after the quote stepped from the string's container (for a key, from its object once it
    /// has the key, when it does not have it yet).
    /// </summary>
    internal void OpenedStrings(TokenVocabulary vocabulary, ByteTokenTrie trie, int node, int offset, StringFrame frame, int limit, ulong[] mask)
    {
        var room = frame.FreeRoom;
        var deficit = frame.Deficit;
        var below = _below;
        below.Clear();
        below.Add(node);
        for (var i = 0; i < below.Count; i++)
        {
            var at = below[i];
            for (var c = trie.ChildStart[at]; c < trie.ChildStart[at + 1]; c++)
            {
                below.Add(c);
            }

            if (at == node)
            {
                continue; // tokens ending at the quote itself were taken by the walk
            }

            for (var t = trie.TokenStart[at]; t < trie.TokenStart[at + 1]; t++)
            {
                var id = trie.TokenIds[t];
                if (Allows(vocabulary.Bytes(id)!, offset, frame, room, deficit, limit))
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }
    }

    private bool Allows(byte[] bytes, int offset, StringFrame frame, int room, int deficit, int limit)
    {
        var (kind, chars, owed, backslash, quote) = StringBodies.Read(bytes, offset);
        if (kind == StringBodies.Body.Invalid || chars > room || (backslash && frame.IsKey))
        {
            return false; // a free key is written without escapes
        }

        switch (kind)
        {
            case StringBodies.Body.Clean:
                return frame.Remaining - Math.Min(chars, deficit) <= limit;
            case StringBodies.Body.Dangling:
                return frame.Remaining - Math.Min(chars, deficit) + owed <= limit;
        }

        if (chars < deficit)
        {
            return false;
        }

        if (frame.KeyOf is not { } owner)
        {
            return StepsWithin(bytes, quote + 1, frame.Parent!, limit);
        }

        // A free key closes into its object only when the object does not have it yet.
        return owner.WithFreeKey(System.Text.Encoding.UTF8.GetString([.. frame.KeyText!, .. bytes.AsSpan(offset, quote - offset)])) is { } keyed
            && StepsWithin(bytes, quote + 1, keyed, limit);
    }

    private readonly List<int> _below = [];
    private readonly List<Frame> _stepA = [];
    private readonly List<Frame> _stepB = [];

    private static bool OpensFreeStrings(List<Frame> frames, int limit)
    {
        foreach (var f in frames)
        {
            if (f is not StringFrame { FreeRoom: >= 0 } || f.Remaining > limit)
            {
                return false;
            }
        }

        return true;
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
