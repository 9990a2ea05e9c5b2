using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Vectorised passes over a row of unnormalised probabilities (non-negative, most likely near 1): mass and count
/// above a threshold, the threshold of a top-k / top-p / min-p cut, and one draw. Every pass is O(vocabulary) with
/// SIMD; only a bounded band of candidates near a cut is ever sorted.
/// </summary>
internal static class ProbabilityKernels
{
    /// <summary>Slice length of the block sums used by the draw (and of the double-precision flushes of the passes).</summary>
    public const int Block = 1024;

    /// <summary>The search narrows a cut until at most this many values lie in its undecided band, then sorts the band.</summary>
    public const int BandLimit = 512;

    /// <summary>How many values are at least <paramref name="threshold"/>, and their sum.</summary>
    public static (int Count, double Mass) AtLeast(ReadOnlySpan<float> values, float threshold)
    {
        var width = Vector<float>.Count;
        var at = new Vector<float>(threshold);
        ref var start = ref MemoryMarshal.GetReference(values);
        var count = 0;
        var mass = 0.0;
        var i = 0;
        while (i < values.Length)
        {
            var end = Math.Min(values.Length, i + Block);
            var blockMass = Vector<float>.Zero;
            var blockCount = Vector<int>.Zero;
            for (; i + width <= end; i += width)
            {
                var v = Vector.LoadUnsafe(ref start, (nuint)i);
                var keep = Vector.GreaterThanOrEqual(v, at);
                blockMass += Vector.ConditionalSelect(keep, v, Vector<float>.Zero);
                blockCount -= keep;
            }

            mass += Vector.Sum(blockMass);
            count += Vector.Sum(blockCount);
            for (; i < end; i++)
            {
                if (values[i] >= threshold)
                {
                    mass += values[i];
                    count++;
                }
            }
        }

        return (count, mass);
    }

    /// <summary>Sets every value below <paramref name="threshold"/> to 0.</summary>
    public static void ZeroBelow(Span<float> values, float threshold)
    {
        var width = Vector<float>.Count;
        var at = new Vector<float>(threshold);
        ref var start = ref MemoryMarshal.GetReference(values);
        var i = 0;
        for (; i + width <= values.Length; i += width)
        {
            var v = Vector.LoadUnsafe(ref start, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, at), v, Vector<float>.Zero).StoreUnsafe(ref start, (nuint)i);
        }

        for (; i < values.Length; i++)
        {
            values[i] = values[i] >= threshold ? values[i] : 0f;
        }
    }

    /// <summary>
    /// The cut of a top-k / top-p / min-p filter. Among the values at least <paramref name="floor"/>, ordered most likely
    /// first, takes the shortest prefix holding at least <paramref name="k"/> values or at least
    /// <paramref name="massFraction"/> of their mass, and returns the value of its last element: the prefix is exactly
    /// the values at least that (ties at the boundary are all kept). Returns <paramref name="floor"/> when no prefix short
    /// of all of them qualifies. <paramref name="top"/> is the largest value (or any value no smaller prefix reaches).
    /// </summary>
    public static float Cut(ReadOnlySpan<float> values, float top, float floor, int k, double massFraction, SamplerScratch scratch)
    {
        var (countLo, massLo) = AtLeast(values, floor);
        var target = massFraction * massLo;
        bool Enough(int count, double mass) => count >= k || mass >= target;
        var (countHi, massHi) = AtLeast(values, top);
        if (Enough(countHi, massHi))
        {
            return top;
        }

        if (!Enough(countLo, massLo))
        {
            return floor;
        }

        // Invariant: the prefix at lo qualifies, the one at hi does not. Narrow in the log domain, alternating a guess
        // that interpolates count or mass (few passes on smooth rows) with bisection (progress on any row).
        float lo = floor, hi = top;
        for (var step = 0; countLo - countHi > BandLimit && step < 64; step++)
        {
            var logLo = MathF.Log(MathF.Max(lo, 1e-30f));
            var logHi = MathF.Log(hi);
            var fraction = 0.5;
            if (step % 2 == 0)
            {
                var byCount = k == int.MaxValue ? 1.0 : (double)(k - countHi) / (countLo - countHi);
                var byMass = double.IsPositiveInfinity(massFraction) ? 1.0 : (target - massHi) / (massLo - massHi);
                fraction = Math.Clamp(Math.Min(byCount, byMass), 0.02, 0.98);
            }

            var mid = MathF.Exp(logHi + (float)(fraction * (logLo - logHi)));
            if (!(mid > lo && mid < hi))
            {
                break;
            }

            var (count, mass) = AtLeast(values, mid);
            if (Enough(count, mass))
            {
                (lo, countLo, massLo) = (mid, count, mass);
            }
            else
            {
                (hi, countHi, massHi) = (mid, count, mass);
            }
        }

        // Sort the band [lo, hi) most likely first and walk it from hi's prefix.
        var band = Gather(values, lo, hi, countLo - countHi, scratch);
        var keys = scratch.BandKeys.AsSpan(0, band);
        keys.Sort();
        var have = countHi;
        var sum = massHi;
        foreach (var key in keys)
        {
            have++;
            sum += -key;
            if (Enough(have, sum))
            {
                return -key;
            }
        }

        return lo;
    }

    /// <summary>
    /// Puts the values in [<paramref name="lo"/>, <paramref name="hi"/>) into the scratch band (keys negated, ids beside
    /// them); returns how many.
    /// </summary>
    public static int Gather(ReadOnlySpan<float> values, float lo, float hi, int expected, SamplerScratch scratch)
    {
        scratch.EnsureBand(expected);
        var keys = scratch.BandKeys;
        var items = scratch.BandItems;
        var width = Vector<float>.Count;
        var vLo = new Vector<float>(lo);
        var vHi = new Vector<float>(hi);
        ref var start = ref MemoryMarshal.GetReference(values);
        var n = 0;
        var i = 0;
        for (; i + width <= values.Length; i += width)
        {
            var v = Vector.LoadUnsafe(ref start, (nuint)i);
            if (Vector.EqualsAll(Vector.BitwiseAnd(Vector.GreaterThanOrEqual(v, vLo), Vector.LessThan(v, vHi)), Vector<int>.Zero))
            {
                continue;
            }

            for (var j = i; j < i + width; j++)
            {
                n = Take(values[j], j, n);
            }
        }

        for (; i < values.Length; i++)
        {
            n = Take(values[i], i, n);
        }

        return n;

        int Take(float value, int index, int count)
        {
            if (value >= lo && value < hi && count < keys.Length)
            {
                keys[count] = -value;
                items[count] = index;
                count++;
            }

            return count;
        }
    }

    /// <summary>
    /// Draws an index with probability proportional to its value, <paramref name="uniform"/> in [0, 1) deciding: block
    /// sums first (vectorised), then a walk inside the one block the draw lands in.
    /// </summary>
    public static int Draw(ReadOnlySpan<float> values, double uniform, Span<float> blockSums)
    {
        var blocks = (values.Length + Block - 1) / Block;
        var total = 0.0;
        for (var b = 0; b < blocks; b++)
        {
            var sum = TensorPrimitives.Sum(values.Slice(b * Block, Math.Min(Block, values.Length - (b * Block))));
            blockSums[b] = sum;
            total += sum;
        }

        var rest = uniform * total;
        for (var b = 0; b < blocks; b++)
        {
            if (rest >= blockSums[b])
            {
                rest -= blockSums[b];
                continue;
            }

            var block = values.Slice(b * Block, Math.Min(Block, values.Length - (b * Block)));
            var last = -1;
            for (var i = 0; i < block.Length; i++)
            {
                if (block[i] > 0f)
                {
                    last = i;
                    rest -= block[i];
                    if (rest < 0)
                    {
                        return (b * Block) + i;
                    }
                }
            }

            // Rounding between the block's vector sum and the walk: the draw fell on the block's last candidate.
            return (b * Block) + last;
        }

        // Rounding at the very end of the row: the last candidate.
        for (var i = values.Length - 1; i >= 0; i--)
        {
            if (values[i] > 0f)
            {
                return i;
            }
        }

        return TensorPrimitives.IndexOfMax(values);
    }
}
