using TokenGrid.Inference.Engine.Prefix;

namespace TokenGrid.Inference.Engine;

public sealed partial class InferenceEngine
{
    /// <summary>
    /// After a decode step in which sequences finished, while their rows are still in the batch: caches each finished
    /// sequence's full blocks of prompt and output (the positions its row holds: every token but the last sampled), so
    /// the next turn of a conversation, which resends the reply, finds it too. Blocks held already are only touched.
    /// </summary>
    private void CacheFinished()
    {
        if (_prefixCache is null)
        {
            return;
        }

        var cache = _runner.Cache;
        var block = _prefixCache.BlockTokens;
        for (var row = 0; row < _active.Count; row++)
        {
            var s = _active[row];
            if (!s.Finished || s.PrefixBlocks is not { } promptBlocks || s.Output is not { } output || s.KvLength / block <= promptBlocks.Length)
            {
                continue;
            }

            var held = s.KvLength;
            int[] tokens = [.. s.Prompt, .. output.Take(held - s.Prompt.Length)];
            var hashes = PrefixHashes.Compute(s.PrefixScope!, tokens, block, promptBlocks);
            var (lane, index) = cache.Locate(row);
            var (rows, length) = cache.Lanes[lane];
            var start = length - held;
            _prefixCache.Insert(cache.LanePointers(lane), rows, index, length, hashes, 0, b => start + (b * block));
        }
    }
}
