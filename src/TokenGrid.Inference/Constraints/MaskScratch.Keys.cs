namespace TokenGrid.Inference.Constraints;

/// <summary>The closing tokens of free object keys.</summary>
public sealed partial class MaskScratch
{
    /// <summary>
    /// Sets the tokens that close <paramref name="frame"/>, a free key between characters, and that its object then
    /// takes: the key must be new to the object (a token whose key text is a used key is left to the object's other
    /// frames), and what follows the quote is walked once from the object after a new key; tokens that write another
    /// quote after it (another key, perhaps) are stepped byte by byte from the key. Tokens ending inside a character
    /// come from the tables (<see cref="FreeString"/>).
    /// </summary>
    private void FreeKeyClosers(TokenVocabulary vocabulary, StringFrame frame, int room, int limit, ulong[] mask)
    {
        var body = vocabulary.Body;
        var owner = frame.KeyOf!;
        var written = frame.KeyText!;
        _excluded.Clear();
        foreach (var used in owner.UsedKeys)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(used + "\"");
            if (bytes.AsSpan().StartsWith(written))
            {
                TokensUnder(vocabulary.All, bytes.AsSpan(written.Length), _excluded);
            }
        }

        var afterKey = owner.AfterFreeKey();
        var keySuffixes = body.KeySuffixes;
        if (afterKey.Remaining <= limit)
        {
            for (var t = keySuffixes.TokenStart[0]; t < keySuffixes.TokenStart[1]; t++)
            {
                var id = keySuffixes.TokenIds[t];
                if (body.PrefixChars[id] <= room && !_excluded.Contains(id))
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }

        _exclude = _excluded.Count > 0;
        Walk(keySuffixes, afterKey, limit, mask, null, body, 0, room);
        _exclude = false;
        var follows = afterKey.FirstBytes;
        foreach (var id in body.KeyQuoted)
        {
            if (body.PrefixChars[id] > room || (mask[id >> 6] & (1UL << (id & 63))) != 0)
            {
                continue;
            }

            // No backslash before it: the first quote closes the key. The object takes the key (when new) and then
            // the rest, stepped from there.
            var bytes = vocabulary.Bytes(id)!;
            var quote = Array.IndexOf(bytes, (byte)'"');
            if (follows.Contains(bytes[quote + 1])
                && owner.WithFreeKey(System.Text.Encoding.UTF8.GetString([.. written, .. bytes.AsSpan(0, quote)])) is { } keyed
                && StepsWithin(bytes, quote + 1, keyed, limit))
            {
                mask[id >> 6] |= 1UL << (id & 63);
            }
        }
    }

    /// <summary>Adds to <paramref name="into"/> the tokens of <paramref name="trie"/> that begin with <paramref name="prefix"/>.</summary>
    private static void TokensUnder(ByteTokenTrie trie, ReadOnlySpan<byte> prefix, HashSet<int> into)
    {
        var node = 0;
        foreach (var b in prefix)
        {
            var (first, end) = (trie.ChildStart[node], trie.ChildStart[node + 1]);
            node = Array.BinarySearch(trie.Label, first, end - first, b);
            if (node < 0)
            {
                return;
            }
        }

        var pending = new Stack<int>([node]);
        while (pending.TryPop(out var at))
        {
            for (var t = trie.TokenStart[at]; t < trie.TokenStart[at + 1]; t++)
            {
                into.Add(trie.TokenIds[t]);
            }

            for (var c = trie.ChildStart[at]; c < trie.ChildStart[at + 1]; c++)
            {
                pending.Push(c);
            }
        }
    }

    /// <summary>Whether <paramref name="bytes"/> from <paramref name="offset"/>, stepped from <paramref name="start"/>, leave a frame that can finish within <paramref name="limit"/>.</summary>
    private bool StepsWithin(byte[] bytes, int offset, Frame start, int limit)
    {
        var current = _stepA;
        current.Clear();
        current.Add(start);
        for (var i = offset; i < bytes.Length && current.Count > 0; i++)
        {
            var next = ReferenceEquals(current, _stepA) ? _stepB : _stepA;
            next.Clear();
            foreach (var f in current)
            {
                f.Step(bytes[i], next);
            }

            current = next;
        }

        return AnyWithin(current, limit);
    }

    private readonly HashSet<int> _excluded = [];
    private bool _exclude;
}
