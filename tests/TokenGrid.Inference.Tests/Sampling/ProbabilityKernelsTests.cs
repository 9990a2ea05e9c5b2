using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

/// <summary>The cuts and the log probabilities agree with a full sort of the row.</summary>
public sealed class ProbabilityKernelsTests
{
    private static float[] Probabilities(int n, int seed, double spread)
    {
        var logits = TokenSamplerTests.RandomLogits(n, seed, spread);
        var max = logits.Max();
        return [.. logits.Select(l => MathF.Exp(l - max))];
    }

    [Theory]
    [InlineData(20_000, 10.0, 0.1f)]
    [InlineData(20_000, 10.0, 0.5f)]
    [InlineData(20_000, 10.0, 0.9f)]
    [InlineData(20_000, 10.0, 0.999f)]
    [InlineData(100_277, 1.0, 0.9f)]
    [InlineData(100_277, 0.05, 0.9f)]
    public void Nucleus_cut_matches_a_full_sort(int n, double spread, float topP)
    {
        // spread 1 and 0.05: the flat rows of a random-weight model, where the nucleus holds most of the vocabulary.
        var probs = Probabilities(n, 7, spread);
        var total = probs.Sum(x => (double)x);
        var cut = ProbabilityCut.Cut(probs, 1f, 0f, int.MaxValue, topP, new SamplerScratch(n));

        // The kept prefix reaches the target, and without its last value it would not (to float summation's precision).
        var kept = probs.Where(p => p >= cut).Select(p => (double)p).ToArray();
        Assert.True(kept.Sum() >= topP * total * (1 - 1e-5), $"kept {kept.Sum()} of {total}");
        Assert.True(kept.Sum() - kept.Min() < topP * total * (1 + 1e-5), $"kept {kept.Sum()} of {total}, more than needed");
        Assert.Contains(cut, probs);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(50)]
    [InlineData(5000)]
    public void Top_k_cut_keeps_the_k_largest(int k)
    {
        var probs = Probabilities(100_277, 3, 8);
        var cut = ProbabilityCut.Cut(probs, 1f, 0f, k, double.PositiveInfinity, new SamplerScratch(probs.Length));
        Assert.Equal(probs.OrderDescending().ElementAt(k - 1), cut);
        Assert.Equal(k, probs.Count(p => p >= cut));
    }

    [Fact]
    public void A_cut_above_the_floor_returns_the_floor_when_everything_above_it_is_needed()
    {
        float[] probs = [1f, 0.5f, 0.25f, 0.1f];
        Assert.Equal(0.25f, ProbabilityCut.Cut(probs, 1f, 0.25f, 10, double.PositiveInfinity, new SamplerScratch(4)));
    }

    [Fact]
    public void Logprobs_are_the_raw_log_softmax_with_the_most_likely_first()
    {
        var logits = TokenSamplerTests.RandomLogits(30_000, 11, spread: 12);
        var max = logits.Max();
        var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var result = LogprobCalculator.Compute(logits, 123, 5, new SamplerScratch(logits.Length));

        Assert.Equal(logits[123] - logSum, result.Logprob, 1e-3);
        var expected = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(5).ToArray();
        Assert.Equal(expected, result.Top.Select(t => t.TokenId));
        foreach (var top in result.Top)
        {
            Assert.Equal(logits[top.TokenId] - logSum, top.Logprob, 1e-3);
        }

        Assert.True(result.Top.Sum(t => Math.Exp(t.Logprob)) <= 1.0);
        Assert.Empty(LogprobCalculator.Compute(logits, 5, 0, new SamplerScratch(logits.Length)).Top);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(37)]
    [InlineData(1_024)]
    [InlineData(100_277)]
    public void The_exponential_sum_is_the_exponentiated_rows_total_without_writing_it(int n)
    {
        var logits = TokenSamplerTests.RandomLogits(n, 13, spread: 20);
        logits[n / 2] = float.NegativeInfinity;
        var max = logits.Max();
        var written = new float[n];
        var (total, _) = ProbabilityKernels.Exponentiate(logits, written, max, 1f, new float[(n / ProbabilityKernels.Block) + 1]);
        var exact = logits.Sum(l => Math.Exp((double)l - max));
        Assert.Equal(total, ProbabilityKernels.ExpSum(logits, max), 1e-6 * total);
        Assert.Equal(exact, ProbabilityKernels.ExpSum(logits, max), 1e-6 * exact);
    }

    [Fact]
    public void Equal_logprobs_are_listed_by_lower_id()
    {
        float[] logits = [0f, 2f, 1f, 2f, 2f];
        var result = LogprobCalculator.Compute(logits, 0, 3, new SamplerScratch(5));
        Assert.Equal([1, 3, 4], result.Top.Select(t => t.TokenId));
        Assert.IsType<TokenLogprobs>(result);
    }

    [Fact]
    public void The_fast_exponential_is_within_float_precision_of_the_exact_one()
    {
        var x = Enumerable.Range(0, 200_001).Select(i => -i * 0.0005f).Append(float.NegativeInfinity).Append(-87.5f).ToArray();
        var scratch = new float[x.Length];
        ProbabilityKernels.Exponentiate(x, scratch, 0f, 1f, new float[(x.Length / ProbabilityKernels.Block) + 1]);
        for (var i = 0; i < x.Length; i++)
        {
            var exact = Math.Exp(x[i]);
            if (x[i] < -87f)
            {
                Assert.Equal(0f, scratch[i]);
            }
            else
            {
                Assert.True(Math.Abs(scratch[i] - exact) <= 1e-6 * exact, $"exp({x[i]}) = {scratch[i]}, expected {exact}");
            }
        }
    }
}
