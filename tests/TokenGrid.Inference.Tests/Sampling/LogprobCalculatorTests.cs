using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

/// <summary>
/// Log probabilities over rows as models give them, against a double-precision log-softmax and a full sort: the group
/// maxima's path for large rows (flat, spread, bfloat16-rounded with its ties, partly −∞, ragged lengths) and the
/// softmax path it falls back to.
/// </summary>
public sealed class LogprobCalculatorTests
{
    public static TheoryData<string, int> Rows() => new()
    {
        { "flat", 100_277 },
        { "spread", 100_277 },
        { "bf16", 151_665 },
        { "uniform", 30_000 },
        { "banned", 100_277 },
        { "spread", GroupDraw.MinimumRow },
        { "spread", GroupDraw.MinimumRow + 1 },
        { "bf16", 4_099 },
        { "spread", 1_000 },
    };

    /// <summary>A row of <paramref name="n"/> logits of the named kind.</summary>
    internal static float[] Row(string kind, int n, int seed = 5)
    {
        var random = new Random(seed);
        float Normal(double sd) => (float)(sd * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return kind switch
        {
            // As flat as the demo model's, and spread as a real model's.
            "flat" => [.. Enumerable.Range(0, n).Select(_ => Normal(0.11))],
            "spread" => [.. Enumerable.Range(0, n).Select(_ => Normal(3))],

            // Logits a bfloat16 model hands over: 8 bits of mantissa, so the most likely ids tie in groups.
            "bf16" => [.. Enumerable.Range(0, n).Select(_ => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(Normal(3) + 8) & unchecked((int)0xFFFF0000)))],
            "uniform" => TokenSamplerTests.RandomLogits(n, seed, 12),

            // A third of the ids at −∞, as a mask leaves them.
            "banned" => [.. Enumerable.Range(0, n).Select(i => i % 3 == 1 ? float.NegativeInfinity : Normal(3))],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Logprobs_are_the_log_softmax_in_double_precision_with_the_top_ids_of_a_full_sort(string kind, int n)
    {
        var logits = Row(kind, n);
        var max = logits.Max();
        var logSum = max + Math.Log(logits.Sum(l => Math.Exp((double)l - max)));
        var order = Enumerable.Range(0, n).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        var scratch = new SamplerScratch(n);
        foreach (var top in new[] { 0, 1, 5, LogprobCalculator.MaxTop })
        {
            foreach (var token in new[] { order[0], order[n / 2], 0, n - 1 })
            {
                var result = LogprobCalculator.Compute(logits, token, top, scratch);
                Assert.Equal(logits[token] - logSum, result.Logprob, 1e-5);
                Assert.Equal(order.Take(top), result.Top.Select(t => t.TokenId));
                foreach (var t in result.Top)
                {
                    Assert.Equal(logits[t.TokenId] - logSum, t.Logprob, 1e-5);
                }
            }
        }
    }

    [Theory]
    [InlineData("flat")]
    [InlineData("spread")]
    [InlineData("banned")]
    public void The_group_path_agrees_with_the_softmax_path(string kind)
    {
        var logits = Row(kind, 100_277, seed: 9);
        var scratch = new SamplerScratch(logits.Length);
        for (var token = 0; token < 40; token++)
        {
            var grouped = LogprobCalculator.Compute(logits, token * 2_500, LogprobCalculator.MaxTop, scratch);
            var softmax = LogprobCalculator.FromSoftmax(logits, token * 2_500, LogprobCalculator.MaxTop, scratch);
            Assert.Equal(softmax.Logprob, grouped.Logprob, 1e-6);
            Assert.Equal(softmax.Top.Select(t => t.TokenId), grouped.Top.Select(t => t.TokenId));
            Assert.Equal(softmax.Top.Select(t => t.Logprob), grouped.Top.Select(t => t.Logprob), (a, b) => Math.Abs(a - b) <= 1e-6);
        }
    }

    [Fact]
    public void Ties_at_the_cut_are_taken_by_lower_id_over_a_large_row()
    {
        // Few enough ties that the group path answers (it gathers candidates), as the assertion on the gather shows.
        var logits = Row("spread", 100_277);
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] /= 30;
        }

        (logits[90_000], logits[60_000], logits[10]) = (5f, 4f, 4f);
        (logits[99_000], logits[70_000], logits[3_000], logits[50]) = (3.5f, 3.5f, 3.5f, 3.5f);
        var scratch = new SamplerScratch(logits.Length);
        var maxima = scratch.GroupMaxima.AsSpan(0, GroupDraw.GroupCount(logits.Length));
        GroupDraw.Maxima(logits, maxima);
        Assert.InRange(GroupDraw.GatherTop(logits, maxima, 5, scratch), 5, ProbabilityCut.BandLimit);

        var result = LogprobCalculator.Compute(logits, 7, 5, scratch);
        Assert.Equal([90_000, 10, 60_000, 50, 3_000], result.Top.Select(t => t.TokenId));
    }

    [Fact]
    public void Both_paths_list_by_logit_even_where_two_logits_round_to_one_probability()
    {
        // 0.2 and the float just above it: one probability, one printed log probability, two logits. The higher logit
        // is the more likely token on a large row (group path) and on a small one (softmax path) alike.
        foreach (var n in new[] { 100_277, 2_000 })
        {
            var logits = Enumerable.Range(0, n).Select(i => -5f + (i % 7 * 0.01f)).ToArray();
            (logits[500], logits[100], logits[200]) = (0.3f, 0.2f, MathF.BitIncrement(0.2f));
            var result = LogprobCalculator.Compute(logits, 0, 3, new SamplerScratch(n));
            Assert.Equal([500, 200, 100], result.Top.Select(t => t.TokenId));
        }
    }

    [Fact]
    public void More_alternatives_than_a_row_has_groups_are_answered()
    {
        // 2,048 values make 128 groups: 129 alternatives cannot come from the groups, and the softmax path answers.
        var logits = Row("spread", GroupDraw.MinimumRow);
        var result = LogprobCalculator.Compute(logits, 3, 129, new SamplerScratch(logits.Length));
        Assert.Equal(Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(129), result.Top.Select(t => t.TokenId));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void A_row_with_a_non_finite_maximum_is_answered_as_the_softmax_path_answers_it(float odd)
    {
        var logits = Row("spread", 100_277);
        logits[4_321] = odd;
        var scratch = new SamplerScratch(logits.Length);
        var expected = LogprobCalculator.FromSoftmax(logits, 17, 5, scratch);
        var result = LogprobCalculator.Compute(logits, 17, 5, scratch);
        Assert.Equal(expected.Logprob, result.Logprob);
        Assert.Equal(expected.Top, result.Top);
    }

    [Fact]
    public void A_row_with_fewer_finite_values_than_asked_for_still_lists_them_first()
    {
        // Three finite values, in three groups: fewer groups than the 20 asked for, so the softmax path answers.
        var logits = Enumerable.Repeat(float.NegativeInfinity, 100_277).ToArray();
        (logits[10], logits[50_000], logits[100_276]) = (1f, 3f, 2f);
        var result = LogprobCalculator.Compute(logits, 10, LogprobCalculator.MaxTop, new SamplerScratch(logits.Length));
        Assert.Equal([50_000, 100_276, 10], result.Top.Take(3).Select(t => t.TokenId));
        var logSum = 3 + Math.Log(1 + Math.Exp(-1) + Math.Exp(-2));
        Assert.Equal(1 - logSum, result.Logprob, 1e-6);
    }
}
