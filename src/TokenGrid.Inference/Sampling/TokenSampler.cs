using System.Numerics.Tensors;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Picks the next token of one sequence from a row of logits: greedy, or temperature with top-k and
/// top-p (nucleus) filtering, from a seeded generator so a seed reproduces a sequence. Selection is
/// expected O(vocab) (quickselect), never a full sort of the vocabulary. Not thread-safe: one per sequence,
/// used only by the decode thread.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private ulong _state;

    /// <summary>Creates a sampler; a null seed draws one.</summary>
    public TokenSampler(SamplingOptions options)
    {
        _options = options;
        _state = options.Seed ?? (ulong)Random.Shared.NextInt64();
    }

    /// <summary>Chooses a token. <paramref name="probScratch"/> and <paramref name="indexScratch"/> are scratch of the logits' length.</summary>
    public int Sample(ReadOnlySpan<float> logits, float[] probScratch, int[] indexScratch)
    {
        if (_options.IsGreedy)
        {
            return TensorPrimitives.IndexOfMax(logits);
        }

        var vocab = logits.Length;
        var probs = probScratch.AsSpan(0, vocab);
        var indices = indexScratch.AsSpan(0, vocab);
        TensorPrimitives.Multiply(logits, 1f / _options.Temperature, probs);
        for (var i = 0; i < vocab; i++)
        {
            indices[i] = i;
        }

        var count = vocab;
        if (_options.TopK > 0 && _options.TopK < vocab)
        {
            SelectLargest(indices, probs, _options.TopK);
            count = _options.TopK;
        }

        // Softmax over the candidates only (logits outside them get probability 0).
        var max = float.NegativeInfinity;
        foreach (var i in indices[..count])
        {
            max = Math.Max(max, probs[i]);
        }

        var sum = 0.0;
        foreach (var i in indices[..count])
        {
            probs[i] = MathF.Exp(probs[i] - max);
            sum += probs[i];
        }

        if (_options.TopP < 1f)
        {
            count = SelectNucleus(indices[..count], probs, (float)(_options.TopP * sum));
        }

        // A fixed order makes the draw reproducible whatever order selection left behind.
        Array.Sort(indexScratch, 0, count, new MostLikelyFirst(probScratch));
        var chosen = indices[..count];

        var mass = 0.0;
        foreach (var i in chosen)
        {
            mass += probs[i];
        }

        var r = NextDouble() * mass;
        foreach (var i in chosen)
        {
            r -= probs[i];
            if (r < 0)
            {
                return i;
            }
        }

        return chosen[^1];
    }

    /// <summary>Rearranges <paramref name="indices"/> so its first <paramref name="k"/> hold the largest values (unordered).</summary>
    internal static void SelectLargest(Span<int> indices, ReadOnlySpan<float> values, int k)
    {
        int lo = 0, hi = indices.Length;
        while (hi - lo > 1)
        {
            var (gt, eq) = Partition(indices[lo..hi], values, values[indices[lo + ((hi - lo) / 2)]]);
            if (k <= lo + gt)
            {
                hi = lo + gt;
            }
            else if (k <= lo + gt + eq)
            {
                return;
            }
            else
            {
                lo += gt + eq;
            }
        }
    }

    /// <summary>
    /// Rearranges <paramref name="indices"/> so that a prefix holds the most likely tokens whose mass
    /// reaches <paramref name="target"/>; returns the prefix length. Ties at the boundary are all kept.
    /// </summary>
    internal static int SelectNucleus(Span<int> indices, ReadOnlySpan<float> probs, float target)
    {
        int lo = 0, hi = indices.Length;
        var need = (double)target;
        while (hi > lo)
        {
            var slice = indices[lo..hi];
            var (gt, eq) = Partition(slice, probs, probs[slice[slice.Length / 2]]);
            var massGt = 0.0;
            foreach (var i in slice[..gt])
            {
                massGt += probs[i];
            }

            if (massGt >= need && gt > 0)
            {
                hi = lo + gt;
                continue;
            }

            var massEq = 0.0;
            foreach (var i in slice.Slice(gt, eq))
            {
                massEq += probs[i];
            }

            if (massGt + massEq >= need)
            {
                return lo + gt + eq;
            }

            need -= massGt + massEq;
            lo += gt + eq;
        }

        return Math.Max(lo, 1);
    }

    /// <summary>Three-way partition: values above the pivot first, then equal, then below.</summary>
    private static (int Greater, int Equal) Partition(Span<int> indices, ReadOnlySpan<float> values, float pivot)
    {
        int lt = 0, i = 0, gt = indices.Length;
        // Dutch national flag, descending: [0, lt) > pivot, [lt, i) == pivot, [gt, n) < pivot.
        while (i < gt)
        {
            var v = values[indices[i]];
            if (v > pivot)
            {
                (indices[lt], indices[i]) = (indices[i], indices[lt]);
                lt++;
                i++;
            }
            else if (v < pivot)
            {
                gt--;
                (indices[gt], indices[i]) = (indices[i], indices[gt]);
            }
            else
            {
                i++;
            }
        }

        return (lt, gt - lt);
    }

    private sealed class MostLikelyFirst(float[] probs) : IComparer<int>
    {
        public int Compare(int a, int b) => probs[b].CompareTo(probs[a]) is var c && c != 0 ? c : a.CompareTo(b);
    }

    private double NextDouble()
    {
        // SplitMix64: small, fast and stable across runtimes, unlike a seeded System.Random.
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
