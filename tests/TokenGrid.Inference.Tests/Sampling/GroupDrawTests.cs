using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

/// <summary>
/// Sampling over large vocabularies, which draws by rejection from the maxima of groups of logits
/// (<see cref="GroupDraw"/>) rather than from the softmax, and tests top-p's candidates in one pass
/// (<see cref="LogitMass"/>): the maxima, the masses, and the distribution of whole samplers' draws against the exact
/// tempered softmax and its nucleus, including the values past the last whole chunk, ties, and min-p.
/// </summary>
public sealed class GroupDrawTests
{
    /// <summary>The demo model's vocabulary: 783 whole chunks and 53 values past them.</summary>
    private const int Vocabulary = 100_277;

    /// <summary>Sixteen classes of logit, spread over the row so that every group mixes them.</summary>
    private const int Classes = 16;

    private static int ClassOf(int id) => (int)(((uint)id * 2654435761u) >> 7) % Classes;

    private static bool InTail(int id) => id >= Vocabulary / GroupDraw.Chunk * GroupDraw.Chunk;

    /// <summary>Class <c>c</c> at logit <c>0.4·c</c>; the values past the last whole chunk form one more class at <paramref name="tailLogit"/>.</summary>
    private static float[] ClassRow(float tailLogit) =>
        [.. Enumerable.Range(0, Vocabulary).Select(id => InTail(id) ? tailLogit : 0.4f * ClassOf(id))];

    private static int ClassOrTail(int id) => InTail(id) ? Classes : ClassOf(id);

    [Theory]
    [InlineData(2_048)]
    [InlineData(2_048 + 77)]
    [InlineData(Vocabulary)]
    [InlineData(130)]
    [InlineData(5)]
    public void Maxima_hold_each_groups_largest_value_and_the_rows(int length)
    {
        var row = TokenSamplerTests.RandomLogits(length, length, spread: 50);
        for (var i = 0; i < length; i += 3)
        {
            row[i] = float.NegativeInfinity;
        }

        var maxima = new float[GroupDraw.GroupCount(length)];
        var max = GroupDraw.Maxima(row, maxima);

        Assert.Equal(row.Max(), max);
        for (var g = 0; g < maxima.Length; g++)
        {
            var members = Enumerable.Range(0, GroupDraw.Depth)
                .Select(k => (g / GroupDraw.Lanes * GroupDraw.Chunk) + (k * GroupDraw.Lanes) + (g % GroupDraw.Lanes))
                .Where(i => i < length)
                .Select(i => row[i])
                .DefaultIfEmpty(float.NegativeInfinity);
            Assert.Equal(members.Max(), maxima[g]);
        }

        // Members walks each group as the maxima took it: every id once, in its own group only.
        var seen = new List<int>();
        for (var g = 0; g < maxima.Length; g++)
        {
            var ids = new List<int>();
            foreach (var id in GroupDraw.Members(g, length))
            {
                ids.Add(id);
            }

            Assert.InRange(ids.Count, 0, GroupDraw.Depth);
            Assert.Equal(maxima[g], ids.Select(i => row[i]).DefaultIfEmpty(float.NegativeInfinity).Max());
            seen.AddRange(ids);
        }

        Assert.Equal(Enumerable.Range(0, length), seen.Order());
    }

    [Theory]
    [InlineData(2_048)]
    [InlineData(2_048 + 77)]
    [InlineData(Vocabulary)]
    [InlineData(1_000)]
    public void The_argmax_is_the_first_largest_value_as_tensor_primitives_finds_it(int length)
    {
        var maxima = new float[GroupDraw.GroupCount(Vocabulary)];
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            // Coarse values, so that the largest is often shared; then the cases with their own rules.
            var row = Enumerable.Range(0, length).Select(_ => (float)random.Next(0, 60)).ToArray();
            switch (seed % 5)
            {
                case 1:
                    row[random.Next(length)] = float.NaN;
                    break;
                case 2:
                    Array.Fill(row, -0f);
                    row[random.Next(length)] = 0f;
                    break;
                case 3:
                    Array.Fill(row, float.NegativeInfinity);
                    break;
                case 4:
                    row[^1] = 1_000f;
                    break;
            }

            Assert.Equal(System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(row), GroupDraw.IndexOfMax(row, maxima));
        }
    }

    [Theory]
    [InlineData(1f, 0f, 1f, 10f, 31)]
    [InlineData(0.5f, 0f, 1f, 8f, 32)]
    [InlineData(2f, 0f, 1f, 12f, 33)]
    [InlineData(1f, 0.2f, 1f, 6.5f, 34)]
    [InlineData(1f, 0f, 0.9f, 10f, 35)]
    [InlineData(1f, 0f, 0.5f, 10f, 36)]
    [InlineData(2f, 0f, 0.3f, 12f, 37)]
    [InlineData(1f, 0.2f, 0.95f, 6.5f, 38)]
    [InlineData(1f, 0f, 0.05f, 10f, 39)]
    public void Draws_over_a_large_vocabulary_follow_the_tempered_softmax_and_its_nucleus(float temperature, float minP, float topP, float tailLogit, int seed)
    {
        var row = ClassRow(tailLogit);
        var max = row.Max();
        var weights = new double[Classes + 1];
        var logitOf = new float[Classes + 1];
        for (var id = 0; id < Vocabulary; id++)
        {
            var relative = Math.Exp((row[id] - max) / temperature);
            weights[ClassOrTail(id)] += relative >= minP ? relative : 0;
            logitOf[ClassOrTail(id)] = row[id];
        }

        // A class is in the nucleus when the classes more likely than it hold less than top_p of the mass.
        var total = weights.Sum();
        var kept = weights.Select((w, c) => weights.Where((_, d) => logitOf[d] > logitOf[c]).Sum() < topP * total ? w : 0).ToArray();
        var expected = kept.Select(w => w / kept.Sum()).ToArray();
        var sampler = new TokenSampler(new SamplingOptions { Temperature = temperature, MinP = minP, TopP = topP, Seed = (ulong)seed });
        var scratch = new SamplerScratch(Vocabulary);
        var draws = topP < 1f ? 8_000 : 20_000;
        var counts = new int[Classes + 1];
        for (var i = 0; i < draws; i++)
        {
            counts[ClassOrTail(sampler.Sample(row, scratch))]++;
        }

        // Never a class that min-p or top-p leaves out.
        Assert.All(Enumerable.Range(0, Classes + 1).Where(c => expected[c] == 0), c => Assert.Equal(0, counts[c]));
        // Up to 16 degrees of freedom: a chi-square above 60 has probability below 1e-6; the seed makes the check deterministic.
        Assert.InRange(PooledChiSquare(counts, expected), 0, 60);
    }

    /// <summary>Pearson's chi-square, with the classes expected fewer than 5 times pooled into one (none when all are).</summary>
    private static double PooledChiSquare(int[] counts, double[] expected)
    {
        var n = counts.Sum();
        var (pooledCount, pooledExpected, sum) = (0, 0.0, 0.0);
        for (var c = 0; c < counts.Length; c++)
        {
            if (n * expected[c] < 5)
            {
                (pooledCount, pooledExpected) = (pooledCount + counts[c], pooledExpected + (n * expected[c]));
                continue;
            }

            sum += Math.Pow(counts[c] - (n * expected[c]), 2) / (n * expected[c]);
        }

        return pooledExpected > 0 ? sum + (Math.Pow(pooledCount - pooledExpected, 2) / Math.Max(pooledExpected, 5)) : sum;
    }

    [Theory]
    [InlineData(1f, 0f)]
    [InlineData(0.5f, 0f)]
    [InlineData(1f, 0.01f)]
    public void The_mass_above_each_candidate_is_the_softmax_summed_over_more_likely_values(float scale, float minP)
    {
        var row = TokenSamplerTests.RandomLogits(5_000 + 13, 4, spread: 12);
        row[7] = float.NegativeInfinity;
        var max = row.Max();
        var minLogit = minP > 0 ? max + (MathF.Log(minP) / scale) : float.NegativeInfinity;
        var p = row.Select(x => x >= minLogit ? Math.Exp((x - max) * scale) : 0).ToArray();
        var above = new double[LogitMass.Candidates];
        foreach (float[] thresholds in new[] { new[] { row[100], row[2_000] }, new[] { max, float.NegativeInfinity } })
        {
            var expected = thresholds.Select(t => p.Where((_, i) => row[i] > t).Sum()).ToArray();

            var total = LogitMass.Above<PreciseExp>(row, max, scale, minLogit, thresholds, above);
            Assert.Equal(p.Sum(), total, 1e-5 * p.Sum());
            Assert.Equal(expected[0], above[0], 1e-5 * p.Sum());
            Assert.Equal(expected[1], above[1], 1e-5 * p.Sum());

            total = LogitMass.Above<RoughExp>(row, max, scale, minLogit, thresholds, above);
            Assert.Equal(p.Sum(), total, FastExp.RoughError * p.Sum());
            Assert.Equal(expected[0], above[0], FastExp.RoughError * Math.Max(expected[0], 1e-30));
            Assert.Equal(expected[1], above[1], FastExp.RoughError * Math.Max(expected[1], 1e-30));
        }
    }

    [Theory]
    [InlineData(6_272, 1)]
    [InlineData(6_272, 20)]
    [InlineData(6_272, 64)]
    [InlineData(6_272, 65)]
    [InlineData(6_272, 256)]
    [InlineData(6_272, 1_000)]
    [InlineData(6_272, 6_271)]
    [InlineData(6_272, 6_272)]
    [InlineData(100, 100)]
    [InlineData(13, 5)]
    [InlineData(7, 7)]
    public void The_kth_largest_is_what_a_sort_finds_with_ties_and_minus_infinity(int length, int k)
    {
        var random = new Random(length + k);
        // Coarse values, so that ties are common; some −∞ (a group past the row's end), an increasing run at the end.
        var values = Enumerable.Range(0, length).Select(i => i % 97 == 0 ? float.NegativeInfinity : MathF.Round((float)random.NextDouble() * 50f)).ToArray();
        for (var i = Math.Max(0, length - 40); i < length; i++)
        {
            values[i] = 40f + (0.25f * (i - length + 40));
        }

        var expected = values.OrderByDescending(v => v).ElementAt(k - 1);

        Assert.Equal(expected, GroupDraw.KthLargest(values, k, new float[length]));
    }

    [Fact]
    public void The_rough_exponential_stays_within_its_stated_error()
    {
        // Every 2^-12 from −125 to 0: the bound the top-p decisions allow for.
        var worst = 0.0;
        for (var t = -125.0; t <= 0; t += 1.0 / 4_096)
        {
            worst = Math.Max(worst, Math.Abs((FastExp.RoughPow2((float)t) / Math.Pow(2, (float)t)) - 1));
        }

        Assert.InRange(worst, 1e-6, FastExp.RoughError);
        Assert.Equal(1f, FastExp.RoughPow2(0f), 1e-4f);
        Assert.InRange(FastExp.RoughPow2(float.NegativeInfinity), 0f, 1e-37f);
    }

    [Theory]
    [InlineData(3e-5, true)]
    [InlineData(-3e-5, false)]
    public void A_top_p_too_close_for_the_rough_exponential_is_decided_by_the_softmaxs(double nudge, bool keptClass14)
    {
        // top_p within 3e-5 of the mass above class 14 (the tail and class 15): inside the rough pass' error, so only the
        // precise pass can tell whether class 14 is in the nucleus.
        var row = ClassRow(10f);
        var max = row.Max();
        var z = row.Sum(x => Math.Exp(x - max));
        var above14 = row.Where(x => x > 0.4f * 14).Sum(x => Math.Exp(x - max));
        var topP = (float)(above14 / z * (1 + nudge));
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1f, TopP = topP, Seed = 40 });
        var scratch = new SamplerScratch(Vocabulary);
        var drawn = Enumerable.Range(0, 3_000).Select(_ => ClassOrTail(sampler.Sample(row, scratch))).ToArray();

        Assert.Equal(keptClass14, drawn.Contains(14));
        Assert.DoesNotContain(drawn, c => c < 14);
    }

    [Fact]
    public void A_peaked_row_draws_its_favourite_as_often_as_the_softmax_says()
    {
        // One id far above a random row: about 0.9 of the mass, the rest spread over 100,276 ids.
        var row = TokenSamplerTests.RandomLogits(Vocabulary, 5, spread: 4);
        var rest = row.Sum(x => Math.Exp(x));
        row[4242] = (float)Math.Log(9 * rest);
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1f, Seed = 8 });
        var scratch = new SamplerScratch(Vocabulary);
        var favourite = Enumerable.Range(0, 10_000).Count(_ => sampler.Sample(row, scratch) == 4242);

        // Binomial(10,000, 0.9): standard deviation 30; six of them either way.
        Assert.InRange(favourite, 9_000 - 180, 9_000 + 180);
    }

    [Fact]
    public void Logit_bias_and_penalties_apply_before_the_group_draw()
    {
        var row = TokenSamplerTests.RandomLogits(Vocabulary, 6, spread: 2);
        row[10] = 30f;
        var scratch = new SamplerScratch(Vocabulary);
        var banned = new TokenSampler(new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [10] = -100f } });
        Assert.DoesNotContain(10, Enumerable.Range(0, 2_000).Select(_ => banned.Sample(row, scratch)));

        var forced = new TokenSampler(new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [77] = 100f } });
        Assert.All(Enumerable.Range(0, 500).Select(_ => forced.Sample(row, scratch)), token => Assert.Equal(77, token));

        // Id 10 is far above the rest; seen in the prompt, a repetition penalty of 30 divides its logit down to 1, in the crowd.
        var penalised = new TokenSampler(new SamplingOptions { Seed = 1, RepetitionPenalty = 30f }, prompt: [10]);
        Assert.InRange(Enumerable.Range(0, 2_000).Count(_ => penalised.Sample(row, scratch) == 10), 0, 5);
    }

    [Fact]
    public void A_seeded_draw_depends_only_on_seed_and_position()
    {
        var rows = Enumerable.Range(0, 40).Select(i => TokenSamplerTests.RandomLogits(Vocabulary, 50 + i, spread: 6)).ToArray();
        var options = new SamplingOptions { Temperature = 0.9f, Seed = 1234 };
        var first = new TokenSampler(options);
        var tokens = rows.Select(r => first.Sample(r, new SamplerScratch(Vocabulary))).ToArray();

        // Another sampler sharing the scratch in between, and a resumed one, draw the same.
        var shared = new SamplerScratch(Vocabulary);
        var again = new TokenSampler(options);
        var other = new TokenSampler(options with { Seed = 99 });
        var differs = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            differs += other.Sample(rows[i], shared) == tokens[i] ? 0 : 1;
            Assert.Equal(tokens[i], again.Sample(rows[i], shared));
        }

        var resumed = new TokenSampler(options, prompt: [.. tokens[..25]], resumedOutputTokens: 25);
        Assert.Equal(tokens[25..], rows[25..].Select(r => resumed.Sample(r, shared)));
        Assert.True(differs > 30, "another seed drew nearly the same tokens");
    }
}
