using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Engine.Prefix;

/// <summary>
/// Keys and values of recent prompts, in fixed-size blocks of <see cref="BlockTokens"/> positions keyed by
/// <see cref="PrefixBlockHash"/> (the block's tokens and everything before them, in one scope). The blocks live in one
/// pool per past input, in the cache's memory (device memory on CUDA), allocated on the first insert at the full
/// budget; a block of one past input is [planes, heads, block, head_size], as the model lays out its cache. Least
/// recently used blocks are evicted first; a sequence touches its blocks last to first, so a prefix outlives the blocks
/// that extend it and a chain is never cut in the middle before its tail. Used by the decode thread; the digest may be
/// read from any thread.
/// </summary>
internal sealed class PrefixCache : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PrefixBlockHash, LinkedListNode<Block>> _index = [];

    // Most recently used first.
    private readonly LinkedList<Block> _recent = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly DeviceBuffer[] _pools;
    private readonly CacheCopier _copier;
    private readonly KvCache _cache;
    private readonly EngineStatistics _statistics;
    private readonly int _planes;
    private readonly int _heads;
    private readonly long _positionBytes;
    private int _slotsUsed;

    public PrefixCache(KvCache cache, CacheMemory memory, int tensors, int planes, int heads, int blockTokens, int maxBlocks, EngineStatistics statistics)
    {
        _cache = cache;
        _planes = planes;
        _heads = heads;
        _positionBytes = (long)cache.HeadSize * cache.ElementSize;
        BlockTokens = blockTokens;
        MaxBlocks = maxBlocks;
        _statistics = statistics;
        _pools = [.. Enumerable.Range(0, tensors).Select(_ => new DeviceBuffer(memory))];
        _copier = new CacheCopier(memory);
    }

    public int BlockTokens { get; }

    public int MaxBlocks { get; }

    /// <summary>Bytes of one block across every past input.</summary>
    public long BlockBytes => _pools.Length * TensorBlockBytes;

    /// <summary>Bytes the pools hold: 0 before the first insert, then the whole budget. Read from any thread.</summary>
    public long PoolBytes => _pools.Sum(p => p.Capacity);

    private long TensorBlockBytes => _planes * _heads * BlockTokens * _positionBytes;

    /// <summary>How many leading blocks of <paramref name="hashes"/> are cached (at most <paramref name="limit"/>); touches them.</summary>
    public int Match(ReadOnlySpan<PrefixBlockHash> hashes, int limit)
    {
        lock (_lock)
        {
            var found = 0;
            while (found < Math.Min(limit, hashes.Length) && _index.ContainsKey(hashes[found]))
            {
                found++;
            }

            Touch(hashes[..found]);
            return found;
        }
    }

    /// <summary>
    /// Copies cached blocks into row <paramref name="row"/> of a group's past (<c>[.., rows, heads, width, head_size]</c>
    /// per past input), right-aligned: positions before them are zeroed. The blocks must have just been matched.
    /// </summary>
    public void CopyInto(IReadOnlyList<OrtValue> past, int rows, int row, int width, ReadOnlySpan<PrefixBlockHash> blocks)
    {
        var length = blocks.Length * BlockTokens;
        var slots = new int[blocks.Length];
        lock (_lock)
        {
            for (var b = 0; b < blocks.Length; b++)
            {
                slots[b] = _index[blocks[b]].Value.Slot;
            }
        }

        for (var t = 0; t < past.Count; t++)
        {
            var data = KvCache.DataPointer(past[t]);
            for (var p = 0; p < _planes; p++)
            {
                for (var h = 0; h < _heads; h++)
                {
                    var dst = data + (nint)(((((long)p * rows) + row) * _heads + h) * width * _positionBytes);
                    _copier.Zero(dst, (width - length) * _positionBytes);
                    for (var b = 0; b < slots.Length; b++)
                    {
                        _copier.Copy(
                            SlotPointer(t, slots[b], p, h),
                            dst + (nint)((width - length + (b * BlockTokens)) * _positionBytes),
                            BlockTokens * _positionBytes);
                    }
                }
            }
        }

        _copier.Flush();
    }

    /// <summary>
    /// Caches blocks <paramref name="from"/>.. of a row: <paramref name="columnOf"/> gives the column in the source row
    /// (<c>[.., rows, heads, width, head_size]</c> per past input) of a block's first position; a block's positions are
    /// consecutive columns. Blocks already cached are touched, not copied; then every block of the row is touched, last
    /// first.
    /// </summary>
    public void Insert(IReadOnlyList<IntPtr> source, int rows, int row, int width, ReadOnlySpan<PrefixBlockHash> hashes, int from, Func<int, int> columnOf)
    {
        lock (_lock)
        {
            for (var b = from; b < hashes.Length; b++)
            {
                if (_index.ContainsKey(hashes[b]))
                {
                    continue;
                }

                if (TakeSlot(hashes[..b]) is not { } slot)
                {
                    break;
                }

                var column = columnOf(b);
                for (var t = 0; t < source.Count; t++)
                {
                    for (var p = 0; p < _planes; p++)
                    {
                        for (var h = 0; h < _heads; h++)
                        {
                            var src = source[t] + (nint)((((((long)p * rows) + row) * _heads + h) * width + column) * _positionBytes);
                            _copier.Copy(src, SlotPointer(t, slot, p, h), BlockTokens * _positionBytes);
                        }
                    }
                }

                _index[hashes[b]] = _recent.AddFirst(new Block(hashes[b], slot));
            }

            _copier.Flush();
            Touch(hashes);
            _statistics.SetPrefixHeld(_index.Count, _index.Count * BlockBytes);
        }
    }

    /// <summary>The summaries of at most <paramref name="max"/> cached blocks, most recently used first.</summary>
    public ulong[] Digest(int max)
    {
        lock (_lock)
        {
            var digest = new ulong[Math.Min(max, _recent.Count)];
            var node = _recent.First;
            for (var i = 0; i < digest.Length; i++, node = node!.Next)
            {
                digest[i] = node!.Value.Hash.Summary;
            }

            return digest;
        }
    }

    public void Dispose()
    {
        foreach (var pool in _pools)
        {
            pool.Dispose();
        }

        _copier.Dispose();
    }

    /// <summary>A free slot, evicting the least recently used block not in <paramref name="keep"/>; null when none can go.</summary>
    private int? TakeSlot(ReadOnlySpan<PrefixBlockHash> keep)
    {
        if (_freeSlots.TryPop(out var free))
        {
            return free;
        }

        if (_slotsUsed < MaxBlocks)
        {
            if (_slotsUsed == 0)
            {
                foreach (var pool in _pools)
                {
                    pool.EnsureCapacity(MaxBlocks * TensorBlockBytes);
                }
            }

            return _slotsUsed++;
        }

        for (var node = _recent.Last; node is not null; node = node.Previous)
        {
            if (!keep.Contains(node.Value.Hash))
            {
                _recent.Remove(node);
                _index.Remove(node.Value.Hash);
                _statistics.OnPrefixEvicted(1);
                return node.Value.Slot;
            }
        }

        return null;
    }

    private void Touch(ReadOnlySpan<PrefixBlockHash> hashes)
    {
        for (var b = hashes.Length - 1; b >= 0; b--)
        {
            if (_index.TryGetValue(hashes[b], out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
            }
        }
    }

    private IntPtr SlotPointer(int tensor, int slot, int plane, int head) =>
        _pools[tensor].Pointer + (nint)((slot * TensorBlockBytes) + ((((long)plane * _heads) + head) * BlockTokens * _positionBytes));

    private readonly record struct Block(PrefixBlockHash Hash, int Slot);
}
