using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Chooses the next token of every row of a decode step. Rows that only need their argmax are taken on the decode
/// thread; a step with enough sampling work (temperature, penalties, log probabilities) is spread over a few workers,
/// each with its own <see cref="SamplerScratch"/>, since one row is tens of microseconds over a large vocabulary. The
/// result of a row depends only on that row and its sequence, never on which worker sampled it.
/// </summary>
internal sealed class BatchSampler
{
    /// <summary>
    /// Below this much sampling work in a step (rows × vocabulary values), workers cost more than they save: waking a
    /// pool thread takes a few microseconds, a vectorised pass over 100,000 values about ten.
    /// </summary>
    private const long ParallelWork = 200_000;

    private readonly SamplerScratch[] _scratch;
    private readonly int _vocabulary;

    /// <summary>Creates scratch for <paramref name="workers"/> workers (at least 1) over rows of <paramref name="vocabulary"/>.</summary>
    public BatchSampler(int vocabulary, int workers)
    {
        _vocabulary = vocabulary;
        _scratch = [.. Enumerable.Range(0, Math.Max(1, workers)).Select(_ => new SamplerScratch(vocabulary))];
    }

    /// <summary>Scratch of the decode thread, for rows sampled one at a time (prefill).</summary>
    public SamplerScratch DecodeThreadScratch => _scratch[0];

    /// <summary>
    /// Samples one row on the calling thread into the sequence's pending token. The row is the engine's own: penalties
    /// change it where it lies during the draw, and it is as it was afterwards, for the log probabilities.
    /// </summary>
    public static void SampleRow(Sequence s, Span<float> logits, SamplerScratch scratch)
    {
        var allowed = s.Constraint is { } constraint ? scratch.Allowed : null;
        var count = allowed is null ? 0 : s.Constraint!.FillMask(allowed, s.MaxNewTokens - s.Generated, scratch.Mask);
        var token = s.Sampler.SampleInPlace(logits, scratch, allowed, count);
        s.PendingToken = token;
        s.PendingLogprobs = s.TopLogprobs is { } top ? LogprobCalculator.Compute(logits, token, top, scratch) : null;
    }

    /// <summary>
    /// Samples every row of the latest decode step into the sequences' pending tokens. <paramref name="rowsAreShared"/>
    /// says the runner's row spans stay valid and may be read from several threads at once (float32 logits); otherwise
    /// every row is sampled on the calling thread.
    /// </summary>
    public void SampleStep(DecoderRunner runner, IReadOnlyList<Sequence> rows, bool rowsAreShared)
    {
        var heavy = 0;
        foreach (var s in rows)
        {
            heavy += s.Sampler.IsPlainGreedy && s.TopLogprobs is null && s.Constraint is null ? 0 : 1;
        }

        var workers = Math.Min(_scratch.Length, heavy);
        if (!rowsAreShared || workers < 2 || (long)heavy * _vocabulary < ParallelWork)
        {
            for (var r = 0; r < rows.Count; r++)
            {
                SampleRow(rows[r], runner.DecodeLogits(r), _scratch[0]);
            }

            return;
        }

        // Interleaved partition: worker w takes rows w, w + workers, ...; the decode thread is one of the workers, so
        // a busy thread pool only slows the step down, never stalls it.
        Parallel.For(0, workers, w =>
        {
            for (var r = w; r < rows.Count; r += workers)
            {
                SampleRow(rows[r], runner.DecodeLogits(r), _scratch[w]);
            }
        });
    }
}
