using System.Numerics.Tensors;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Log probabilities of the model's raw distribution (log-softmax of the logits, before temperature, penalties and
/// bias). Over a large vocabulary: one pass of group maxima gives the row's maximum and, from the groups' members, the
/// most likely tokens (<see cref="GroupDraw.GatherTop"/>); one pass of exponentials, summed and never written out, gives
/// the log-sum-exp. Only sequences that asked pay for it.
/// </summary>
public static class LogprobCalculator
{
    /// <summary>The most alternatives a token may report (OpenAI's limit).</summary>
    public const int MaxTop = 20;

    /// <summary>
    /// The log probability of <paramref name="token"/> under <paramref name="logits"/>, and the <paramref name="top"/>
    /// most likely tokens, most likely first (by logit; equal logits by lower id).
    /// </summary>
    public static TokenLogprobs Compute(ReadOnlySpan<float> logits, int token, int top, SamplerScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        top = Math.Min(top, logits.Length);
        return logits.Length >= GroupDraw.MinimumRow && FromGroups(logits, token, top, scratch) is { } grouped
            ? grouped
            : FromSoftmax(logits, token, top, scratch);
    }

    /// <summary>
    /// From the group maxima: null when the row's maximum is not finite, <paramref name="top"/> exceeds the groups, or
    /// the top tokens are not few (more than <see cref="ProbabilityCut.BandLimit"/> / <see cref="GroupDraw.Depth"/>
    /// groups at the bound, see <see cref="GroupDraw.GatherTop"/>); the softmax path then decides.
    /// </summary>
    private static TokenLogprobs? FromGroups(ReadOnlySpan<float> logits, int token, int top, SamplerScratch scratch)
    {
        var maxima = scratch.GroupMaxima.AsSpan(0, GroupDraw.GroupCount(logits.Length));
        var max = GroupDraw.Maxima(logits, maxima);
        var n = top == 0 || top > maxima.Length || !float.IsFinite(max) ? 0 : GroupDraw.GatherTop(logits, maxima, top, scratch);
        if (!float.IsFinite(max) || (top > 0 && n == 0))
        {
            return null;
        }

        var logSum = max + (float)Math.Log(ProbabilityKernels.ExpSum(logits, max));
        return Result(logits, token, top, n, logSum, scratch);
    }

    /// <summary>From the written-out softmax: any row, NaN and infinities included.</summary>
    internal static TokenLogprobs FromSoftmax(ReadOnlySpan<float> logits, int token, int top, SamplerScratch scratch)
    {
        var max = TensorPrimitives.Max(logits);
        var probs = scratch.Values.AsSpan(0, logits.Length);
        var (total, lowest) = ProbabilityKernels.Exponentiate(logits, probs, max, 1f, scratch.BlockSums);
        var logSum = max + (float)Math.Log(total);
        if (top == 0)
        {
            return Result(logits, token, 0, 0, logSum, scratch);
        }

        var cut = ProbabilityCut.Cut(probs, 1f, 0f, top, double.PositiveInfinity, scratch, total, lowest);
        var (count, _) = ProbabilityKernels.AtLeast(probs, cut);
        var n = ProbabilityCut.Gather(probs, cut, float.PositiveInfinity, count, scratch);
        return Result(logits, token, top, n, logSum, scratch);
    }

    /// <summary>
    /// The answer from <paramref name="n"/> candidates in the scratch band (ids in <see cref="SamplerScratch.BandItems"/>,
    /// a superset of the <paramref name="top"/> largest logits): the first <paramref name="top"/> by logit, equal logits
    /// by lower id. Both paths order by the logit itself, not by a probability computed from it, in which two close
    /// logits may round to one value.
    /// </summary>
    private static TokenLogprobs Result(ReadOnlySpan<float> logits, int token, int top, int n, float logSum, SamplerScratch scratch)
    {
        var sampled = logits[token] - logSum;
        if (top == 0)
        {
            return new TokenLogprobs(sampled, []);
        }

        // Negated, so that an ascending sort puts the most likely first.
        var keys = scratch.BandKeys.AsSpan(0, n);
        var items = scratch.BandItems.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            keys[i] = -logits[items[i]];
        }

        keys.Sort(items);
        var result = new TopLogprob[Math.Min(top, n)];
        for (var i = 0; i < n; i++)
        {
            // Most likely first; equal keys by lower id, whatever order the sort left them in.
            var j = i;
            while (j + 1 < n && keys[j + 1] == keys[i])
            {
                j++;
            }

            items.Slice(i, j - i + 1).Sort();
            i = j;
        }

        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new TopLogprob(items[i], logits[items[i]] - logSum);
        }

        return new TokenLogprobs(sampled, result);
    }
}
