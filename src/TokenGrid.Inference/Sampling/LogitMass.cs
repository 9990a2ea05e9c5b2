using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Top-p's test for two candidates in one pass over the logits: the tempered softmax's total mass, and the mass of the
/// values more likely than each candidate, without writing the probabilities out. The exponential is a type argument:
/// <see cref="RoughExp"/> for the first pass, whose error the caller allows for, and <see cref="PreciseExp"/> when that
/// leaves the test undecided.
/// </summary>
internal static class LogitMass
{
    /// <summary>How many candidates one pass tests.</summary>
    public const int Candidates = 2;

    /// <summary>
    /// With <c>p_i = exp((row[i] − max)·scale)</c> (as <typeparamref name="TExp"/> computes it), counting only <c>row[i] ≥ minLogit</c> (min-p; −∞ counts all): returns
    /// <c>Σ p_i</c>, and writes into <paramref name="above"/>[a] the sum over <c>row[i] &gt; thresholds[a]</c>.
    /// </summary>
    public static double Above<TExp>(ReadOnlySpan<float> row, float max, float scale, float minLogit, ReadOnlySpan<float> thresholds, Span<double> above)
        where TExp : IRowExp
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(thresholds.Length, Candidates);
        ArgumentOutOfRangeException.ThrowIfLessThan(above.Length, Candidates);
        ref var start = ref MemoryMarshal.GetReference(row);
        var total = 0.0;
        (above[0], above[1]) = (0, 0);
        scale *= TExp.Base;
        var i = 0;
        while (i < row.Length)
        {
            var end = Math.Min(row.Length, i + ProbabilityKernels.Block);
            if (Vector512.IsHardwareAccelerated)
            {
                var (t0, t1, low) = (Vector512.Create(thresholds[0]), Vector512.Create(thresholds[1]), Vector512.Create(minLogit));
                var (s, a0, a1) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
                for (; i + Vector512<float>.Count <= end; i += Vector512<float>.Count)
                {
                    var x = Vector512.LoadUnsafe(ref start, (nuint)i);
                    var p = TExp.Exp((x - Vector512.Create(max)) * Vector512.Create(scale));
                    p = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, low), p, Vector512<float>.Zero);
                    s += p;
                    a0 += Vector512.ConditionalSelect(Vector512.GreaterThan(x, t0), p, Vector512<float>.Zero);
                    a1 += Vector512.ConditionalSelect(Vector512.GreaterThan(x, t1), p, Vector512<float>.Zero);
                }

                total += Vector512.Sum(s);
                (above[0], above[1]) = (above[0] + Vector512.Sum(a0), above[1] + Vector512.Sum(a1));
            }
            else
            {
                var (t0, t1, low) = (new Vector<float>(thresholds[0]), new Vector<float>(thresholds[1]), new Vector<float>(minLogit));
                var (s, a0, a1) = (Vector<float>.Zero, Vector<float>.Zero, Vector<float>.Zero);
                for (; i + Vector<float>.Count <= end; i += Vector<float>.Count)
                {
                    var x = Vector.LoadUnsafe(ref start, (nuint)i);
                    var p = TExp.Exp((x - new Vector<float>(max)) * new Vector<float>(scale));
                    p = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, low), p, Vector<float>.Zero);
                    s += p;
                    a0 += Vector.ConditionalSelect(Vector.GreaterThan(x, t0), p, Vector<float>.Zero);
                    a1 += Vector.ConditionalSelect(Vector.GreaterThan(x, t1), p, Vector<float>.Zero);
                }

                total += Vector.Sum(s);
                (above[0], above[1]) = (above[0] + Vector.Sum(a0), above[1] + Vector.Sum(a1));
            }

            for (; i < end; i++)
            {
                if (!(row[i] >= minLogit))
                {
                    continue;
                }

                var p = TExp.Exp((row[i] - max) * scale);
                total += p;
                above[0] += row[i] > thresholds[0] ? p : 0;
                above[1] += row[i] > thresholds[1] ? p : 0;
            }
        }

        return total;
    }
}

/// <summary>An exponential for non-positive arguments, lane by lane, chosen at compile time for <see cref="LogitMass"/>.</summary>
internal interface IRowExp
{
    /// <summary>What a natural exponent is multiplied by before <see cref="Exp(Vector{float})"/>: 1, or log2(e) for a power of 2.</summary>
    static abstract float Base { get; }

    /// <summary>e^x, lane by lane.</summary>
    static abstract Vector512<float> Exp(Vector512<float> x);

    /// <summary>e^x, lane by lane.</summary>
    static abstract Vector<float> Exp(Vector<float> x);

    /// <summary>e^x.</summary>
    static abstract float Exp(float x);
}

/// <summary><see cref="FastExp.Exp(Vector{float})"/>: the probabilities the softmax path writes.</summary>
internal readonly struct PreciseExp : IRowExp
{
    public static float Base => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => FastExp.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x) => FastExp.Exp(x);

    public static float Exp(float x) => FastExp.Exp(x);
}

/// <summary>
/// <see cref="FastExp.RoughPow2(Vector{float})"/> of the exponent times log2(e): about half the instructions, within
/// <see cref="FastExp.RoughError"/> and the exponent's own rounding.
/// </summary>
internal readonly struct RoughExp : IRowExp
{
    public static float Base => FastExp.Log2OfE;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => FastExp.RoughPow2(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x) => FastExp.RoughPow2(x);

    public static float Exp(float x) => FastExp.RoughPow2(x);
}
