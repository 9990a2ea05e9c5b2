using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// The maxima of small groups of logits, and what they give without exponentiating the row: greedy's argmax
/// (<see cref="IndexOfMax"/>), and exact temperature sampling by rejection (<see cref="TryDraw"/>).
/// </summary>
/// <remarks>
/// <para>
/// The row is cut into chunks of <see cref="Chunk"/> values, and a chunk into <see cref="Lanes"/> groups of
/// <see cref="Depth"/> values each: group <c>(c, j)</c> holds values <c>c·Chunk + k·Lanes + j</c> for <c>k</c> below
/// <see cref="Depth"/>, so one pass of lane-wise vector maxima gives every group's maximum <c>m_g</c> with no horizontal
/// step. Positions past the row's end count as −∞. A draw then picks a group with probability proportional to
/// <c>exp((m_g − max)/T)</c>, one of its <see cref="Depth"/> positions uniformly, and keeps that value <c>x</c> with
/// probability <c>exp((x − m_g)/T)</c>. A kept value is drawn with probability proportional to <c>exp((x − max)/T)</c>:
/// exactly the tempered softmax, as rejection sampling from an upper bound always is.
/// </para>
/// <para>
/// A group's bound is at most <see cref="Depth"/> times its true mass, since the group holds its maximum, so a try is
/// kept with probability at least 1/<see cref="Depth"/> whatever the row. A row costs one pass of vector maxima over the
/// vocabulary and one exponential per group (a sixteenth of the vocabulary), where the softmax costs one exponential per
/// value. Min-p is a rejection too: a value whose probability is below <c>min_p</c> of the most likely one's (a logit below
/// <c>max + ln(min_p)·T</c>) is never kept, and a group whose maximum is below that gets no weight.
/// </para>
/// <para>
/// The layout is fixed (8 lanes, whatever the vector width), so a seeded draw is the same on AVX2 and AVX-512 machines.
/// </para>
/// </remarks>
internal static class GroupDraw
{
    /// <summary>Groups per chunk: the lanes of a 256-bit vector of floats.</summary>
    public const int Lanes = 8;

    /// <summary>Values per group.</summary>
    public const int Depth = 16;

    /// <summary>Values per chunk.</summary>
    public const int Chunk = Lanes * Depth;

    /// <summary>The largest k <see cref="KthLargest"/> finds with a heap; above it, by selection.</summary>
    public const int HeapLimit = 64;

    /// <summary>Groups per block sum, for the draw's walk.</summary>
    public const int GroupBlock = 64;

    /// <summary>Below this many values the softmax itself is cheaper than the groups' bookkeeping.</summary>
    public const int MinimumRow = 2_048;

    /// <summary>The number of groups of a row of <paramref name="length"/> values.</summary>
    public static int GroupCount(int length) => (length + Chunk - 1) / Chunk * Lanes;

    /// <summary>
    /// The ids of group <paramref name="group"/>'s values in a row of <paramref name="length"/>: lane g mod 8 of its
    /// chunk, every 8th value of the chunk's 128 (fewer past the row's end).
    /// </summary>
    public static IdRange Members(int group, int length)
    {
        var first = (group / Lanes * Chunk) + (group % Lanes);
        return new IdRange(first, Math.Min(length, first + Chunk));
    }

    /// <summary>Every <see cref="Lanes"/>-th id from a group's first to its chunk's end, as <c>foreach</c> walks it (no allocation).</summary>
    public readonly record struct IdRange(int First, int End)
    {
        public Enumerator GetEnumerator() => new(First - Lanes, End);

        public struct Enumerator(int current, int end)
        {
            public readonly int Current => current;

            public bool MoveNext() => (current += Lanes) < end;
        }
    }

    /// <summary>The number of block sums over the groups of a row of <paramref name="length"/> values.</summary>
    public static int BlockCount(int length) => (GroupCount(length) + GroupBlock - 1) / GroupBlock;

    /// <summary>Writes every group's maximum into <paramref name="maxima"/> (−∞ for a group past the row's end); returns the row's maximum.</summary>
    public static float Maxima(ReadOnlySpan<float> row, Span<float> maxima)
    {
        var full = row.Length / Chunk;
        ref var start = ref MemoryMarshal.GetReference(row);
        ref var to = ref MemoryMarshal.GetReference(maxima);
        var overall = Vector256.Create(float.NegativeInfinity);
        for (var c = 0; c < full; c++)
        {
            var at = (nuint)(c * Chunk);
            Vector256<float> m;
            if (Vector512.IsHardwareAccelerated)
            {
                // Each 512-bit load holds two consecutive k of the same 8 lanes; fold its halves at the end.
                var wide = Vector512.LoadUnsafe(ref start, at);
                for (nuint k = 2 * Lanes; k < Chunk; k += 2 * Lanes)
                {
                    wide = Vector512.Max(wide, Vector512.LoadUnsafe(ref start, at + k));
                }

                m = Vector256.Max(wide.GetLower(), wide.GetUpper());
            }
            else
            {
                m = Vector256.LoadUnsafe(ref start, at);
                for (nuint k = Lanes; k < Chunk; k += Lanes)
                {
                    m = Vector256.Max(m, Vector256.LoadUnsafe(ref start, at + k));
                }
            }

            m.StoreUnsafe(ref to, (nuint)(c * Lanes));
            overall = Vector256.Max(overall, m);
        }

        var max = float.NegativeInfinity;
        for (var j = 0; j < Lanes; j++)
        {
            max = MathF.Max(max, overall[j]);
        }

        if (full * Chunk < row.Length)
        {
            var tail = maxima.Slice(full * Lanes, Lanes);
            tail.Fill(float.NegativeInfinity);
            for (var i = full * Chunk; i < row.Length; i++)
            {
                var j = (i - (full * Chunk)) % Lanes;
                tail[j] = MathF.Max(tail[j], row[i]);
                max = MathF.Max(max, row[i]);
            }
        }

        return max;
    }

    /// <summary>
    /// The index of the row's largest value, the first where several share it: what
    /// <see cref="TensorPrimitives.IndexOfMax{T}(ReadOnlySpan{T})"/> returns (a NaN's through it, and +0 above −0), from
    /// the group maxima. Over 100,277 values this costs about a quarter as much, since a pass of vector maxima tracks no
    /// index; the index is then found in the one chunk that holds the first maximum.
    /// </summary>
    public static int IndexOfMax(ReadOnlySpan<float> row, Span<float> maxima)
    {
        if (row.Length < MinimumRow)
        {
            return TensorPrimitives.IndexOfMax(row);
        }

        maxima = maxima[..GroupCount(row.Length)];
        var max = Maxima(row, maxima);
        if (float.IsNaN(max))
        {
            return TensorPrimitives.IndexOfMax(row);
        }

        // Bitwise, so that +0 is not found at a −0.
        var bits = BitConverter.SingleToInt32Bits(max);
        var from = MemoryMarshal.Cast<float, int>(maxima).IndexOf(bits) / Lanes * Chunk;
        var chunk = row[from..Math.Min(row.Length, from + Chunk)];
        return from + MemoryMarshal.Cast<float, int>(chunk).IndexOf(bits);
    }

    /// <summary>
    /// The <paramref name="k"/>-th largest of <paramref name="values"/> (1 ≤ k ≤ their count, none of them NaN), in
    /// <paramref name="work"/> (room for them all). Up to <see cref="HeapLimit"/>, by a min-heap of the k largest seen:
    /// vectors of values below the heap's least are skipped whole, which over a row's group maxima is nearly all of them
    /// once the first few hundred have been seen, about a pass of comparisons. Above it, the heap's sifts grow with k (68 µs
    /// at k 500 over 6,272 maxima, measured), and a partial selection over a copy (<see cref="Selection"/>), a few passes
    /// whatever k, costs less.
    /// </summary>
    public static float KthLargest(ReadOnlySpan<float> values, int k, Span<float> work)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, values.Length);
        if (k > HeapLimit)
        {
            return SelectKthLargest(values, k, work);
        }

        var heap = work[..k];
        values[..k].CopyTo(heap);
        for (var i = (k / 2) - 1; i >= 0; i--)
        {
            SiftDown(heap, i);
        }

        var width = Vector256<float>.Count;
        var at = k;
        while (at < values.Length)
        {
            if (at + width <= values.Length
                && Vector256.GreaterThanAny(Vector256.Create(values.Slice(at, width)), Vector256.Create(heap[0])) is false)
            {
                at += width;
                continue;
            }

            if (values[at] > heap[0])
            {
                heap[0] = values[at];
                SiftDown(heap, 0);
            }

            at++;
        }

        return heap[0];
    }

    /// <summary>
    /// <see cref="KthLargest"/> by selection, over the values at least a threshold when enough of them are: a selection
    /// over every 16th value picks a threshold about 1.5 k values of the whole reach (and at least k by a wide margin);
    /// when at least k do, the k-th largest is among them and is theirs, so the selection runs over those alone, else
    /// over a copy of all. Either way the result is exact: the same k-th largest the heap finds.
    /// </summary>
    private static float SelectKthLargest(ReadOnlySpan<float> values, int k, Span<float> work)
    {
        const int Stride = 16;
        var samples = values.Length / Stride;
        var rank = (k * 3 / (2 * Stride)) + 8;
        if (rank < samples)
        {
            var sample = work[..samples];
            for (var i = 0; i < samples; i++)
            {
                sample[i] = values[i * Stride];
            }

            var threshold = Selection.NthLargest(sample, rank - 1);
            var n = 0;
            foreach (var value in values)
            {
                if (value >= threshold)
                {
                    work[n++] = value;
                }
            }

            if (n >= k)
            {
                return Selection.NthLargest(work[..n], k - 1);
            }
        }

        var copy = work[..values.Length];
        values.CopyTo(copy);
        return Selection.NthLargest(copy, k - 1);
    }

    /// <summary>
    /// Gathers into the scratch band (values into <see cref="SamplerScratch.BandKeys"/>, ids into
    /// <see cref="SamplerScratch.BandItems"/>) every value of <paramref name="row"/> at least the
    /// <paramref name="k"/>-th largest of its group <paramref name="maxima"/> (as <see cref="Maxima"/> wrote them). k groups
    /// hold a value at least that, so the row's k largest values are all among them, and each group above it adds at most
    /// <see cref="Depth"/>: the groups' members are read, not the row again. Returns how many; 0 when fewer than k groups
    /// have a finite maximum, or so many tie at the bound that the candidates could pass <paramref name="limit"/>.
    /// </summary>
    public static int GatherTop(ReadOnlySpan<float> row, ReadOnlySpan<float> maxima, int k, SamplerScratch scratch, int limit = ProbabilityCut.BandLimit)
    {
        var bound = KthLargest(maxima, k, scratch.GroupWeights);
        if (!float.IsFinite(bound))
        {
            return 0;
        }

        // The maxima come in whole chunks of Lanes (GroupCount): a vector compare per chunk finds its groups at the bound.
        var groups = 0;
        for (var c = 0; c < maxima.Length; c += Lanes)
        {
            groups += BitOperations.PopCount(AtLeast(maxima, c, bound));
        }

        if (groups * Depth > limit)
        {
            return 0;
        }

        scratch.EnsureBand(groups * Depth);
        var (keys, items, n) = (scratch.BandKeys, scratch.BandItems, 0);
        for (var c = 0; c < maxima.Length; c += Lanes)
        {
            for (var bits = AtLeast(maxima, c, bound); bits != 0; bits &= bits - 1)
            {
                foreach (var id in Members(c + BitOperations.TrailingZeroCount(bits), row.Length))
                {
                    if (row[id] >= bound)
                    {
                        (keys[n], items[n]) = (row[id], id);
                        n++;
                    }
                }
            }
        }

        return n;
    }

    /// <summary>One bit per group of the chunk whose first group is <paramref name="first"/>: its maximum is at least <paramref name="bound"/>.</summary>
    private static uint AtLeast(ReadOnlySpan<float> maxima, int first, float bound) =>
        Vector256.GreaterThanOrEqual(Vector256.Create(maxima.Slice(first, Lanes)), Vector256.Create(bound)).ExtractMostSignificantBits();

    private static void SiftDown(Span<float> heap, int i)
    {
        while (true)
        {
            var (left, smallest) = ((2 * i) + 1, i);
            if (left < heap.Length && heap[left] < heap[smallest])
            {
                smallest = left;
            }

            if (left + 1 < heap.Length && heap[left + 1] < heap[smallest])
            {
                smallest = left + 1;
            }

            if (smallest == i)
            {
                return;
            }

            (heap[i], heap[smallest]) = (heap[smallest], heap[i]);
            i = smallest;
        }
    }

    /// <summary>
    /// The groups' weights <c>exp((m_g − max)·scale)</c>, 0 where <c>m_g</c> is below <paramref name="minLogit"/> (min-p;
    /// −∞ keeps all), with the sums of every <see cref="GroupBlock"/> of them; returns their total.
    /// </summary>
    public static double Weigh(ReadOnlySpan<float> maxima, Span<float> weights, float max, float scale, float minLogit, Span<float> blockSums)
    {
        var width = Vector<float>.Count;
        ref var from = ref MemoryMarshal.GetReference(maxima);
        ref var to = ref MemoryMarshal.GetReference(weights);
        var total = 0.0;
        for (int i = 0, b = 0; i < maxima.Length; b++)
        {
            var end = Math.Min(maxima.Length, i + GroupBlock);
            var sum = Vector<float>.Zero;
            var blockSum = 0f;
            for (; i + width <= end; i += width)
            {
                var m = Vector.LoadUnsafe(ref from, (nuint)i);
                var w = FastExp.Exp((m - new Vector<float>(max)) * new Vector<float>(scale));
                w = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(m, new Vector<float>(minLogit)), w, Vector<float>.Zero);
                w.StoreUnsafe(ref to, (nuint)i);
                sum += w;
            }

            blockSum += Vector.Sum(sum);
            for (; i < end; i++)
            {
                weights[i] = maxima[i] >= minLogit ? FastExp.Exp((maxima[i] - max) * scale) : 0f;
                blockSum += weights[i];
            }

            blockSums[b] = blockSum;
            total += blockSum;
        }

        return total;
    }

    /// <summary>
    /// One try of the rejection: a group by weight, a position in it, and the test. Returns the position drawn, or −1
    /// when the try is rejected. <paramref name="uniforms"/> supplies the try's three independent numbers in [0, 1).
    /// </summary>
    public static int TryDraw(
        ReadOnlySpan<float> row,
        ReadOnlySpan<float> maxima,
        ReadOnlySpan<float> weights,
        ReadOnlySpan<float> blockSums,
        double total,
        float scale,
        float minLogit,
        (double Group, double Position, double Keep) uniforms)
    {
        var group = PickGroup(weights, blockSums, total, uniforms.Group);
        if (group < 0)
        {
            return -1;
        }

        var k = Math.Min(Depth - 1, (int)(uniforms.Position * Depth));
        var index = (group / Lanes * Chunk) + (k * Lanes) + (group % Lanes);
        if (index >= row.Length)
        {
            return -1;
        }

        var x = row[index];
        return x >= minLogit && uniforms.Keep < MathF.Exp((x - maxima[group]) * scale) ? index : -1;
    }

    /// <summary>A group with probability proportional to its weight, or −1 where rounding runs past the last one.</summary>
    private static int PickGroup(ReadOnlySpan<float> weights, ReadOnlySpan<float> blockSums, double total, double uniform)
    {
        var rest = uniform * total;
        for (var b = 0; b < blockSums.Length; b++)
        {
            if (rest >= blockSums[b])
            {
                rest -= blockSums[b];
                continue;
            }

            var end = Math.Min(weights.Length, (b + 1) * GroupBlock);
            for (var g = b * GroupBlock; g < end; g++)
            {
                rest -= weights[g];
                if (rest < 0 && weights[g] > 0f)
                {
                    return g;
                }
            }

            // Rounding between the block's vector sum and this walk: count it as a rejected try.
            return -1;
        }

        return -1;
    }
}
