using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Engine.Prefix;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Sequences joining the batch together. Their prompts are left-padded to the longest and run through
/// the model in chunks of at most <see cref="EngineOptions.PrefillChunkTokens"/> tokens, one chunk between
/// decode steps, so a long prompt never stalls the running batch for long. The group keeps its own cache
/// (ONNX Runtime's outputs, in the session's cache memory) until it is merged into the batch.
/// <para>
/// A row whose prompt starts with blocks held by the prefix cache (<see cref="Sequence.CachedTokens"/>) takes their keys
/// and values as its past and prefills only the rest. The group's past is then <see cref="PastWidth"/> columns, each row's
/// cached prefix right-aligned in it, and the prompts' rests are left-padded to the longest rest after it, so a row's real
/// positions are its prefix, padding (masked), then its rest; the merge into the batch closes that gap.
/// </para>
/// </summary>
internal sealed class PrefillGroup : IDisposable
{
    /// <summary>Takes a sequence's logits at its last prompt position; <paramref name="row"/> is the row a follower forked from, else null.</summary>
    public delegate void LastLogits(Sequence sequence, Sequence? row, Span<float> logits);

    private readonly DecoderRunner _runner;
    private readonly int _padTokenId;
    private readonly int _chunkColumns;
    private IReadOnlyList<OrtValue> _past;
    private int _done;

    public PrefillGroup(DecoderRunner runner, IReadOnlyList<Sequence> rows, IReadOnlyList<(Sequence Sequence, int Row)> followers, int chunkTokens, int padTokenId, PrefixCache? cache = null)
    {
        _runner = runner;
        Rows = rows;
        Followers = followers;
        _padTokenId = padTokenId;
        PastWidth = rows.Max(r => r.CachedTokens);
        SuffixWidth = rows.Max(r => r.Prompt.Length - r.CachedTokens);
        _chunkColumns = Math.Max(1, chunkTokens / rows.Count);
        _past = runner.EmptyPast(rows.Count, PastWidth);
        if (PastWidth > 0)
        {
            for (var r = 0; r < rows.Count; r++)
            {
                var cached = rows[r].CachedTokens / cache!.BlockTokens;
                cache.CopyInto(_past, rows.Count, r, PastWidth, rows[r].PrefixBlocks.AsSpan(0, cached));
            }
        }
    }

    public IReadOnlyList<Sequence> Rows { get; }

    /// <summary>
    /// Sequences forked from a row of the group (same fork key and prompt): they are not run, they take that row's last
    /// logits and, at the merge, a copy of its cache.
    /// </summary>
    public IReadOnlyList<(Sequence Sequence, int Row)> Followers { get; }

    /// <summary>Every sequence of the group, prefilled or forked.</summary>
    public IEnumerable<Sequence> All => Rows.Concat(Followers.Select(f => f.Sequence));

    /// <summary>Columns of the group's past taken from the prefix cache: the longest cached prefix (0 without one).</summary>
    public int PastWidth { get; }

    /// <summary>Columns prefilled: the longest rest of a prompt after its cached prefix.</summary>
    public int SuffixWidth { get; }

    /// <summary>Columns of the group.</summary>
    public int Width => PastWidth + SuffixWidth;

    public bool Done => _done == SuffixWidth;

    /// <summary>The group's cache after the last chunk: [.., rows, heads, Width, head_size] per past input.</summary>
    public IReadOnlyList<OrtValue> Presents => _past;

    /// <summary>
    /// Runs the next chunk. After the last one, calls <paramref name="onLastLogits"/> for every row with its
    /// logits at the final prompt position, from which its first token is sampled, then for every follower with its row's.
    /// </summary>
    /// <returns>Prompt tokens (not padding) processed by this chunk.</returns>
    public int RunChunk(LastLogits onLastLogits)
    {
        var columns = Math.Min(_chunkColumns, SuffixWidth - _done);
        var total = PastWidth + _done + columns;
        var batch = Rows.Count;
        _runner.Prepare(batch, columns, total);
        var real = 0;
        for (var r = 0; r < batch; r++)
        {
            var prompt = Rows[r].Prompt;
            var cached = Rows[r].CachedTokens;
            var pastPad = PastWidth - cached;
            var pad = SuffixWidth - (prompt.Length - cached);
            for (var c = 0; c < total; c++)
            {
                var masked = c < PastWidth ? c < pastPad : c - PastWidth < pad;
                _runner.Mask.Set((r * total) + c, masked ? 0 : 1);
            }

            for (var c = 0; c < columns; c++)
            {
                var at = _done + c;
                var isPad = at < pad;
                real += isPad ? 0 : 1;
                _runner.Ids.Set((r * columns) + c, isPad ? _padTokenId : prompt[cached + at - pad]);
                _runner.Positions.Set((r * columns) + c, isPad ? 0 : cached + at - pad);
            }
        }

        var last = total == Width;
        var outputs = _runner.RunPrefill(batch, columns, total, _past, logitsToHost: last);
        DecoderRunner.DisposeAll(_past);
        _past = [.. outputs.Skip(1)];
        _done += columns;
        using var logits = outputs[0];
        if (Done)
        {
            // A graph rewritten to compute the last position only (LastPositionLogits) returns [rows, 1, vocabulary].
            var logitColumns = (int)logits.GetTensorTypeAndShape().Shape[1];
            for (var r = 0; r < batch; r++)
            {
                onLastLogits(Rows[r], null, _runner.PrefillLogits(logits, (r * logitColumns) + logitColumns - 1));
            }

            foreach (var (follower, r) in Followers)
            {
                onLastLogits(follower, Rows[r], _runner.PrefillLogits(logits, (r * logitColumns) + logitColumns - 1));
            }
        }

        return real;
    }

    /// <summary>Where row <paramref name="row"/>'s first <paramref name="length"/> real positions are, for the merge.</summary>
    public RowSource Source(int row, int length)
    {
        var s = Rows[row];
        return s.CachedTokens == 0
            ? new RowSource(true, row, length)
            : new RowSource(true, row, length, Head: s.CachedTokens, Gap: SuffixWidth - (s.Prompt.Length - s.CachedTokens));
    }

    /// <summary>After the last chunk: caches every row's full prompt blocks that the cache does not hold yet.</summary>
    public void CacheBlocks(PrefixCache cache)
    {
        var source = _past.Select(KvCache.DataPointer).ToArray();
        var block = cache.BlockTokens;
        for (var r = 0; r < Rows.Count; r++)
        {
            var s = Rows[r];
            if (s.PrefixBlocks is not { Length: > 0 } blocks)
            {
                continue;
            }

            var cached = s.CachedTokens;
            var restStart = PastWidth + SuffixWidth - (s.Prompt.Length - cached);
            cache.Insert(source, Rows.Count, r, Width, blocks, cached / block, b => restStart + (b * block) - cached);
        }
    }

    public void Dispose() => DecoderRunner.DisposeAll(_past);
}
