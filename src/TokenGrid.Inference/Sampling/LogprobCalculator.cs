using System.Numerics.Tensors;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Log probabilities of the model's raw distribution (log-softmax of the logits, before temperature, penalties and
/// bias): one vectorised max + log-sum-exp pass, then a bounded selection of the most likely tokens. Only sequences
/// that asked pay for it.
/// </summary>
public static class LogprobCalculator
{
    /// <summary>The most alternatives a token may report (OpenAI's limit).</summary>
    public const int MaxTop = 20;

    /// <summary>
    /// The log probability of <paramref name="token"/> under <paramref name="logits"/>, and the <paramref name="top"/>
    /// most likely tokens, most likely first (ties by lower id).
    /// </summary>
    public static TokenLogprobs Compute(ReadOnlySpan<float> logits, int token, int top, SamplerScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var max = TensorPrimitives.Max(logits);
        var probs = scratch.Values.AsSpan(0, logits.Length);
        var (total, lowest) = ProbabilityKernels.Exponentiate(logits, probs, max, 1f, scratch.BlockSums);
        var logSum = max + (float)Math.Log(total);
        var sampled = logits[token] - logSum;
        top = Math.Min(top, logits.Length);
        if (top == 0)
        {
            return new TokenLogprobs(sampled, []);
        }

        var cut = ProbabilityCut.Cut(probs, 1f, 0f, top, double.PositiveInfinity, scratch, total, lowest);
        var (count, _) = ProbabilityKernels.AtLeast(probs, cut);
        var n = ProbabilityCut.Gather(probs, cut, float.PositiveInfinity, count, scratch);
        var keys = scratch.BandKeys.AsSpan(0, n);
        var items = scratch.BandItems.AsSpan(0, n);
        keys.Sort(items);
        var result = new TopLogprob[Math.Min(top, n)];
        for (var i = 0; i < n; i++)
        {
            // Most likely first; equal probabilities by lower id, whatever order the sort left them in.
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
