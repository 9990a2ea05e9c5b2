using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Vectorised passes over a row of unnormalised probabilities (non-negative, most likely near 1): the exponentiation
/// with block sums, mass and count above a threshold, zeroing below one, and one draw. Every pass is O(vocabulary)
/// with SIMD (512-bit where AVX-512 runs). The cuts built on them are in <see cref="ProbabilityCut"/>.
/// </summary>
internal static class ProbabilityKernels
{
    /// <summary>Slice length of the block sums used by the draw (and of the double-precision flushes of the passes).</summary>
    public const int Block = 1024;

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
            if (Vector512.IsHardwareAccelerated)
            {
                var mass512 = Vector512<float>.Zero;
                var count512 = Vector512<int>.Zero;
                for (; i + Vector512<float>.Count <= end; i += Vector512<float>.Count)
                {
                    var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                    var keep = Vector512.GreaterThanOrEqual(v, Vector512.Create(threshold));
                    mass512 += Vector512.ConditionalSelect(keep, v, Vector512<float>.Zero);
                    count512 -= keep.AsInt32();
                }

                mass += Vector512.Sum(mass512);
                count += Vector512.Sum(count512);
            }

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

    /// <summary>
    /// <c>Σ exp(source[i] − shift)</c> (<see cref="FastExp"/>, <paramref name="shift"/> at least every value), summed in
    /// float by <see cref="Block"/> and in double across blocks, as <see cref="Exponentiate"/> sums; nothing is written.
    /// </summary>
    public static double ExpSum(ReadOnlySpan<float> source, float shift)
    {
        var width = Vector<float>.Count;
        ref var from = ref MemoryMarshal.GetReference(source);
        var total = 0.0;
        var i = 0;
        while (i < source.Length)
        {
            var end = Math.Min(source.Length, i + Block);
            var blockSum = 0f;
            if (Vector512.IsHardwareAccelerated)
            {
                var sum512 = Vector512<float>.Zero;
                for (; i + Vector512<float>.Count <= end; i += Vector512<float>.Count)
                {
                    sum512 += FastExp.Exp(Vector512.LoadUnsafe(ref from, (nuint)i) - Vector512.Create(shift));
                }

                blockSum = Vector512.Sum(sum512);
            }

            // Two sums on this path, so that one vector's exponential need not wait for the other's addition (the 512-bit
            // path above keeps one).
            var (even, odd) = (Vector<float>.Zero, Vector<float>.Zero);
            for (; i + (2 * width) <= end; i += 2 * width)
            {
                even += FastExp.Exp(Vector.LoadUnsafe(ref from, (nuint)i) - new Vector<float>(shift));
                odd += FastExp.Exp(Vector.LoadUnsafe(ref from, (nuint)(i + width)) - new Vector<float>(shift));
            }

            blockSum += Vector.Sum(even + odd);
            for (; i < end; i++)
            {
                blockSum += FastExp.Exp(source[i] - shift);
            }

            total += blockSum;
        }

        return total;
    }

    /// <summary>
    /// One fused pass: <c>destination[i] = exp((source[i] - shift) * scale)</c> (<see cref="FastExp"/>) (source and destination may be the same),
    /// with the sums of every <see cref="Block"/> into <paramref name="blockSums"/>. Returns the total and the smallest
    /// positive value.
    /// </summary>
    public static (double Total, float Lowest) Exponentiate(ReadOnlySpan<float> source, Span<float> destination, float shift, float scale, Span<float> blockSums)
    {
        var width = Vector<float>.Count;
        var vShift = new Vector<float>(shift);
        var vScale = new Vector<float>(scale);
        var infinity = new Vector<float>(float.PositiveInfinity);
        ref var from = ref MemoryMarshal.GetReference(source);
        ref var to = ref MemoryMarshal.GetReference(destination);
        var total = 0.0;
        var lowest = infinity;
        var lowestTail = float.PositiveInfinity;
        for (int i = 0, b = 0; i < source.Length; b++)
        {
            var end = Math.Min(source.Length, i + Block);
            var sum = Vector<float>.Zero;
            var blockSum = 0f;
            if (Vector512.IsHardwareAccelerated)
            {
                var sum512 = Vector512<float>.Zero;
                var lowest512 = Vector512.Create(float.PositiveInfinity);
                for (; i + Vector512<float>.Count <= end; i += Vector512<float>.Count)
                {
                    var p = FastExp.Exp((Vector512.LoadUnsafe(ref from, (nuint)i) - Vector512.Create(shift)) * Vector512.Create(scale));
                    p.StoreUnsafe(ref to, (nuint)i);
                    sum512 += p;
                    lowest512 = Vector512.Min(lowest512, Vector512.ConditionalSelect(Vector512.GreaterThan(p, Vector512<float>.Zero), p, lowest512));
                }

                blockSum = Vector512.Sum(sum512);
                for (var j = 0; j < Vector512<float>.Count; j++)
                {
                    lowestTail = MathF.Min(lowestTail, lowest512[j]);
                }
            }

            for (; i + width <= end; i += width)
            {
                var p = FastExp.Exp((Vector.LoadUnsafe(ref from, (nuint)i) - vShift) * vScale);
                p.StoreUnsafe(ref to, (nuint)i);
                sum += p;
                lowest = Vector.Min(lowest, Vector.ConditionalSelect(Vector.GreaterThan(p, Vector<float>.Zero), p, infinity));
            }

            blockSum += Vector.Sum(sum);
            for (; i < end; i++)
            {
                var p = FastExp.Exp((source[i] - shift) * scale);
                destination[i] = p;
                blockSum += p;
                lowestTail = p > 0f ? MathF.Min(lowestTail, p) : lowestTail;
            }

            blockSums[b] = blockSum;
            total += blockSum;
        }

        var min = lowestTail;
        for (var j = 0; j < width; j++)
        {
            min = MathF.Min(min, lowest[j]);
        }

        return (total, min);
    }

    /// <summary>Sets every value below <paramref name="threshold"/> to 0, refreshing the block sums; returns the new total.</summary>
    public static double ZeroBelow(Span<float> values, float threshold, Span<float> blockSums)
    {
        var width = Vector<float>.Count;
        var at = new Vector<float>(threshold);
        ref var start = ref MemoryMarshal.GetReference(values);
        var total = 0.0;
        for (int i = 0, b = 0; i < values.Length; b++)
        {
            var end = Math.Min(values.Length, i + Block);
            var sum = Vector<float>.Zero;
            var blockSum = 0f;
            if (Vector512.IsHardwareAccelerated)
            {
                var sum512 = Vector512<float>.Zero;
                for (; i + Vector512<float>.Count <= end; i += Vector512<float>.Count)
                {
                    var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                    var kept = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(v, Vector512.Create(threshold)), v, Vector512<float>.Zero);
                    kept.StoreUnsafe(ref start, (nuint)i);
                    sum512 += kept;
                }

                blockSum = Vector512.Sum(sum512);
            }

            for (; i + width <= end; i += width)
            {
                var v = Vector.LoadUnsafe(ref start, (nuint)i);
                var kept = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, at), v, Vector<float>.Zero);
                kept.StoreUnsafe(ref start, (nuint)i);
                sum += kept;
            }

            blockSum += Vector.Sum(sum);
            for (; i < end; i++)
            {
                values[i] = values[i] >= threshold ? values[i] : 0f;
                blockSum += values[i];
            }

            blockSums[b] = blockSum;
            total += blockSum;
        }

        return total;
    }

    /// <summary>
    /// Draws an index with probability proportional to its value, <paramref name="uniform"/> in [0, 1) deciding: a walk
    /// over the block sums (from <see cref="Exponentiate"/> or <see cref="ZeroBelow"/>, totalling
    /// <paramref name="total"/>), then inside the one block the draw lands in.
    /// </summary>
    public static int Draw(ReadOnlySpan<float> values, double uniform, ReadOnlySpan<float> blockSums, double total)
    {
        var blocks = (values.Length + Block - 1) / Block;
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
