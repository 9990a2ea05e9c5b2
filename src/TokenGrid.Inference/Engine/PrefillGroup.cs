using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Sequences joining the batch together. Their prompts are left-padded to the longest and run through
/// the model in chunks of at most <see cref="EngineOptions.PrefillChunkTokens"/> tokens, one chunk between
/// decode steps, so a long prompt never stalls the running batch for long. The group keeps its own cache
/// (ONNX Runtime's outputs, in the session's cache memory) until it is merged into the batch.
/// </summary>
internal sealed class PrefillGroup : IDisposable
{
    /// <summary>Takes a sequence's logits at its last prompt position; <paramref name="row"/> is the row a follower forked from, else null.</summary>
    public delegate void LastLogits(Sequence sequence, Sequence? row, ReadOnlySpan<float> logits);

    private readonly DecoderRunner _runner;
    private readonly int _padTokenId;
    private readonly int _chunkColumns;
    private IReadOnlyList<OrtValue> _past;
    private int _done;

    public PrefillGroup(DecoderRunner runner, IReadOnlyList<Sequence> rows, IReadOnlyList<(Sequence Sequence, int Row)> followers, int chunkTokens, int padTokenId)
    {
        _runner = runner;
        Rows = rows;
        Followers = followers;
        _padTokenId = padTokenId;
        Width = rows.Max(r => r.Prompt.Length);
        _chunkColumns = Math.Max(1, chunkTokens / rows.Count);
        _past = runner.EmptyPast(rows.Count);
    }

    public IReadOnlyList<Sequence> Rows { get; }

    /// <summary>
    /// Sequences forked from a row of the group (same fork key and prompt): they are not run, they take that row's last
    /// logits and, at the merge, a copy of its cache.
    /// </summary>
    public IReadOnlyList<(Sequence Sequence, int Row)> Followers { get; }

    /// <summary>Every sequence of the group, prefilled or forked.</summary>
    public IEnumerable<Sequence> All => Rows.Concat(Followers.Select(f => f.Sequence));

    /// <summary>Columns of the group: the longest prompt.</summary>
    public int Width { get; }

    public bool Done => _done == Width;

    /// <summary>The group's cache after the last chunk: [.., rows, heads, Width, head_size] per past input.</summary>
    public IReadOnlyList<OrtValue> Presents => _past;

    /// <summary>
    /// Runs the next chunk. After the last one, calls <paramref name="onLastLogits"/> for every row with its
    /// logits at the final prompt position, from which its first token is sampled, then for every follower with its row's.
    /// </summary>
    /// <returns>Prompt tokens (not padding) processed by this chunk.</returns>
    public int RunChunk(LastLogits onLastLogits)
    {
        var columns = Math.Min(_chunkColumns, Width - _done);
        var total = _done + columns;
        var batch = Rows.Count;
        _runner.Prepare(batch, columns, total);
        var real = 0;
        for (var r = 0; r < batch; r++)
        {
            var prompt = Rows[r].Prompt;
            var pad = Width - prompt.Length;
            for (var c = 0; c < total; c++)
            {
                _runner.Mask.Set((r * total) + c, c < pad ? 0 : 1);
            }

            for (var c = 0; c < columns; c++)
            {
                var at = _done + c;
                var isPad = at < pad;
                real += isPad ? 0 : 1;
                _runner.Ids.Set((r * columns) + c, isPad ? _padTokenId : prompt[at - pad]);
                _runner.Positions.Set((r * columns) + c, isPad ? 0 : at - pad);
            }
        }

        var last = total == Width;
        var outputs = _runner.RunPrefill(batch, columns, total, _past, logitsToHost: last);
        DecoderRunner.DisposeAll(_past);
        _past = [.. outputs.Skip(1)];
        _done = total;
        using var logits = outputs[0];
        if (Done)
        {
            for (var r = 0; r < batch; r++)
            {
                onLastLogits(Rows[r], null, _runner.PrefillLogits(logits, (r * columns) + columns - 1));
            }

            foreach (var (follower, r) in Followers)
            {
                onLastLogits(follower, Rows[r], _runner.PrefillLogits(logits, (r * columns) + columns - 1));
            }
        }

        return real;
    }

    public void Dispose() => DecoderRunner.DisposeAll(_past);
}
