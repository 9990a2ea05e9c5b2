using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// <c>exp</c> for non-positive arguments, to within about 2e-7 relative error, in about fifteen vector instructions (fused multiply-adds where the hardware has them):
/// <c>2^n · p(r)</c> with a degree-6 polynomial on <c>|r| ≤ ln 2 / 2</c>. Arguments below −87 (and −∞) give exactly 0.
/// </summary>
/// <remarks>
/// Hand-rolled so the exp fuses with the shift, the temperature scale and the block sums in one pass over the row
/// (<see cref="ProbabilityKernels.Exponentiate"/>); a sampling probability needs no more than float precision. Measured
/// on a loaded 2-core machine per 100,277 values: <c>Vector.Exp</c> on <see cref="Vector{T}"/> 150 µs,
/// <c>TensorPrimitives.Exp</c> 73–105 µs before its separate shift, scale and sum passes, <c>Vector512.Exp</c> 51–90 µs;
/// the fused pass with this exp 67 µs. Every method here is inlined into its pass: called out of line, a 512-bit vector
/// crossed each call through memory, and the fused pass cost 186 µs where it costs 47 µs inlined (quiet machine, one
/// thread). Exponents are converted with the native (non-saturating) instruction; they lie in [−126, 1].
/// </remarks>
internal static class FastExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float Lowest = -87f;

    /// <summary>e^x for x ≤ 0, lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var valid = Vector.GreaterThanOrEqual(x, new Vector<float>(Lowest));
        x = Vector.Max(x, new Vector<float>(Lowest));
        var n = Vector.Floor(Vector.FusedMultiplyAdd(x, new Vector<float>(Log2E), new Vector<float>(0.5f)));
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Low), Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2High), x));
        var p = new Vector<float>(1f / 720f);
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 120f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 24f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(1f / 6f));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(0.5f));
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(127), 23));
        return Vector.ConditionalSelect(valid, p * scale, Vector<float>.Zero);
    }

    /// <summary>e^x for x ≤ 0, lane by lane, on 512-bit vectors (twice the lanes of <see cref="Vector{T}"/> where AVX-512 runs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var valid = Vector512.GreaterThanOrEqual(x, Vector512.Create(Lowest));
        x = Vector512.Max(x, Vector512.Create(Lowest));
        var n = Vector512.Floor(Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(0.5f)));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x));
        var p = Vector512.Create(1f / 720f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(valid, p * scale, Vector512<float>.Zero);
    }

    /// <summary>e^x for x ≤ 0, the same as a lane of <see cref="Exp(Vector{float})"/>.</summary>
    public static float Exp(float x) => Exp(new Vector<float>(x))[0];

    /// <summary>
    /// A cheaper 2^t for t ≤ 0, to within <see cref="RoughError"/> relative error (for t above −125; below, at most
    /// 2^−125): <c>2^n · q(f)</c> with a degree-3 polynomial on <c>f</c> in [0, 1), about eight vector instructions. For
    /// sums whose decisions allow for that error (<see cref="LogitMass"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoughPow2(Vector512<float> t)
    {
        t = Vector512.Max(t, Vector512.Create(-125f));
        var n = Vector512.Floor(t);
        var f = t - n;
        var q = Vector512.FusedMultiplyAdd(Vector512.Create(RoughC3), f, Vector512.Create(RoughC2));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(RoughC1));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(RoughC0));
        return (q.AsInt32() + Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n), 23)).AsSingle();
    }

    /// <summary><see cref="RoughPow2(Vector512{float})"/> on <see cref="Vector{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> RoughPow2(Vector<float> t)
    {
        t = Vector.Max(t, new Vector<float>(-125f));
        var n = Vector.Floor(t);
        var f = t - n;
        var q = Vector.FusedMultiplyAdd(new Vector<float>(RoughC3), f, new Vector<float>(RoughC2));
        q = Vector.FusedMultiplyAdd(q, f, new Vector<float>(RoughC1));
        q = Vector.FusedMultiplyAdd(q, f, new Vector<float>(RoughC0));
        return Vector.AsVectorSingle(Vector.AsVectorInt32(q) + Vector.ShiftLeft(Vector.ConvertToInt32Native(n), 23));
    }

    /// <summary>2^t per <see cref="RoughPow2(Vector{float})"/> for one value.</summary>
    public static float RoughPow2(float t) => RoughPow2(new Vector<float>(t))[0];

    /// <summary>log2(e), by which a natural exponent becomes <see cref="RoughPow2(Vector{float})"/>'s.</summary>
    public const float Log2OfE = Log2E;

    /// <summary>The largest relative error of <see cref="RoughPow2(Vector{float})"/> above −125: 7.5e-5 for the polynomial, and rounding.</summary>
    public const double RoughError = 8e-5;

    // 2^f on [0, 1) to within 7.5e-5 relative error (minimax of the relative error, fitted by Lawson's iteration).
    private const float RoughC0 = 0.9999252187f;
    private const float RoughC1 = 0.6958335376f;
    private const float RoughC2 = 0.2260671637f;
    private const float RoughC3 = 0.0780245168f;
}
