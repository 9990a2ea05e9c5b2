using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

public sealed class TokenSamplerTests
{
    internal static float[] RandomLogits(int n, int seed, double spread = 10)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * spread))];
    }

    private static float[] Logs(params double[] probabilities) => [.. probabilities.Select(p => (float)Math.Log(p))];

    private static int[] Counts(TokenSampler sampler, float[] logits, int draws)
    {
        var scratch = new SamplerScratch(logits.Length);
        var counts = new int[logits.Length];
        for (var i = 0; i < draws; i++)
        {
            counts[sampler.Sample(logits, scratch)]++;
        }

        return counts;
    }

    /// <summary>Pearson's chi-square of observed counts against expected probabilities.</summary>
    private static double ChiSquare(int[] counts, double[] expected)
    {
        var n = counts.Sum();
        return counts.Select((c, i) => expected[i] == 0 ? (c == 0 ? 0 : double.PositiveInfinity) : Math.Pow(c - (n * expected[i]), 2) / (n * expected[i])).Sum();
    }

    [Fact]
    public void Greedy_takes_the_largest_logit()
    {
        var logits = RandomLogits(5000, 1);
        var expected = Array.IndexOf(logits, logits.Max());
        var sampler = new TokenSampler(SamplingOptions.Greedy);
        Assert.Equal(expected, sampler.Sample(logits, new SamplerScratch(5000)));
        Assert.True(sampler.IsPlainGreedy);
    }

    [Theory]
    [InlineData(1e-39f)]
    [InlineData(1e-6f)]
    public void A_temperature_below_the_greedy_threshold_takes_the_largest_logit(float temperature)
    {
        // 1e-39 is a float denormal: 1 / it is +inf, and (logit - max) * inf is NaN for the most likely token.
        var options = new SamplingOptions { Temperature = temperature, Seed = 3 };
        Assert.True(options.IsGreedy);
        Assert.False(new SamplingOptions { Temperature = SamplingOptions.GreedyTemperature }.IsGreedy);
        var scratch = new SamplerScratch(5000);
        var mask = new ulong[(5000 + 63) / 64];
        for (var id = 0; id < 5000; id += 7)
        {
            mask[id >> 6] |= 1UL << (id & 63);
        }

        var plain = new TokenSampler(options);
        var biased = new TokenSampler(options with { LogitBias = new Dictionary<int, float> { [4999] = -1f } });
        var masked = new TokenSampler(options);
        for (var row = 0; row < 20; row++)
        {
            var logits = RandomLogits(5000, 300 + row);
            logits[4999] = float.MinValue;
            var best = Array.IndexOf(logits, logits.Max());
            var bestAllowed = Enumerable.Range(0, 5000).Where(id => id % 7 == 0).MaxBy(id => logits[id]);
            Assert.Equal(best, plain.Sample(logits, scratch));
            Assert.Equal(best, biased.Sample(logits, scratch));
            Assert.Equal(bestAllowed, masked.Sample(logits, scratch, mask, (5000 + 6) / 7));
        }
    }

    [Theory]
    [InlineData(100_277, 888, float.PositiveInfinity, -1)]
    [InlineData(100_277, 100_276, float.PositiveInfinity, -1)]
    [InlineData(100_277, 777, float.NaN, -1)]
    [InlineData(100_277, 900, float.NaN, 100)]
    [InlineData(1_000, 888, float.PositiveInfinity, -1)]
    [InlineData(1_000, 777, float.NaN, 100)]
    public void A_row_with_a_positive_infinite_or_nan_logit_samples_the_id_greedy_takes(int vocabulary, int at, float value, int infinityAt)
    {
        // A model that overflows (fp16 logits) can write +inf or NaN. The +inf token has all the probability; a NaN leaves
        // none defined. Every sampling setting takes what greedy takes (the first NaN, else the first +inf), never the
        // id an all-zero softmax falls to.
        var logits = RandomLogits(vocabulary, at);
        logits[at] = value;
        if (infinityAt >= 0)
        {
            logits[infinityAt] = float.PositiveInfinity;
        }

        var greedy = new TokenSampler(SamplingOptions.Greedy).Sample(logits, new SamplerScratch(vocabulary));
        Assert.Equal(at, greedy);
        var mask = new ulong[(vocabulary + 63) / 64];
        foreach (var id in new[] { 1, 5, infinityAt, at, vocabulary - 1 }.Where(id => id >= 0).Distinct())
        {
            mask[id >> 6] |= 1UL << (id & 63);
        }

        var allowedCount = mask.Sum(w => System.Numerics.BitOperations.PopCount(w));
        foreach (var options in new[]
        {
            new SamplingOptions { Temperature = 1f, Seed = 1 },
            new SamplingOptions { Temperature = 0.7f, TopP = 0.9f, Seed = 2 },
            new SamplingOptions { Temperature = 1f, TopK = 50, Seed = 3 },
            new SamplingOptions { Temperature = 1.3f, MinP = 0.05f, Seed = 4 },
            new SamplingOptions { Temperature = 1f, Seed = 5, PresencePenalty = 0.5f, LogitBias = new Dictionary<int, float> { [1] = 5f } },
        })
        {
            var scratch = new SamplerScratch(vocabulary);
            for (var draw = 0; draw < 5; draw++)
            {
                Assert.Equal(at, new TokenSampler(options with { Seed = options.Seed + (ulong)draw }).Sample(logits, scratch));
                Assert.Equal(at, new TokenSampler(options with { Seed = options.Seed + (ulong)draw }).Sample(logits, scratch, mask, allowedCount));
            }
        }
    }

    [Theory]
    [InlineData(5, 1f, 0f, 1f, false, 41)]
    [InlineData(20, 0.7f, 0f, 0.8f, false, 42)]
    [InlineData(20, 0.7f, 0f, 0.8f, true, 43)]
    [InlineData(50, 1.3f, 0.3f, 1f, false, 44)]
    [InlineData(256, 1f, 0f, 0.9f, true, 45)]
    [InlineData(300, 1f, 0f, 0.9f, false, 46)]
    [InlineData(512, 1f, 0f, 0.95f, true, 47)]
    [InlineData(600, 1f, 0f, 0.9f, false, 48)]
    [InlineData(1_000, 1f, 0.002f, 1f, true, 49)]
    [InlineData(2_048, 0.8f, 0f, 0.9f, false, 50)]
    [InlineData(3_000, 1f, 0f, 1f, false, 51)]
    public void Top_k_over_a_large_vocabulary_draws_from_the_k_largest_adjusted_values_with_min_p_and_top_p(int k, float temperature, float minP, float topP, bool adjusted, int seed)
    {
        // Distinct values, the largest few past the last whole group chunk as well; with adjusted, a bias lifts some ids
        // into the top k and a frequency penalty pushes the largest one out. (A top-k up to 2,048 draws among candidates
        // from the group maxima, 3,000 cuts the whole row: both must be this distribution.)
        const int vocabulary = 100_277;
        var row = RandomLogits(vocabulary, seed, spread: 14);
        row[100_270] = 14.5f;
        row[100_276] = 14.2f;
        var bias = adjusted ? new Dictionary<int, float> { [12_345] = 20f, [777] = 19f, [100_275] = 30f } : [];
        var options = new SamplingOptions { Temperature = temperature, TopK = k, MinP = minP, TopP = topP, LogitBias = bias, FrequencyPenalty = adjusted ? 2f : 0f };
        var effective = row.Select((x, id) => x + bias.GetValueOrDefault(id) - (adjusted && id == 100_270 ? 2f : 0f)).ToArray();
        var order = Enumerable.Range(0, vocabulary).OrderByDescending(id => effective[id]).ToArray();
        var top = effective[order[0]];
        var probability = order.Select(id => Math.Exp((effective[id] - top) / temperature)).ToArray();
        var kept = Math.Min(k, probability.Count(p => p >= minP));
        var keptMass = probability.Take(kept).Sum();
        var (mass, nucleus) = (0.0, 0);
        while (nucleus < kept && mass < topP * keptMass)
        {
            mass += probability[nucleus++];
        }

        // Expected: the nucleus' ids in rank order, pooled into at most 16 buckets of neighbouring ranks.
        var buckets = Math.Min(16, nucleus);
        var bucketOf = new Dictionary<int, int>();
        var expected = new double[buckets];
        for (var r = 0; r < nucleus; r++)
        {
            bucketOf[order[r]] = r * buckets / nucleus;
            expected[r * buckets / nucleus] += probability[r] / mass;
        }

        var scratch = new SamplerScratch(vocabulary);
        var counts = new int[buckets];
        const int draws = 12_000;
        for (var i = 0; i < draws; i++)
        {
            // A sampler per draw: each draw joins its history. Its one earlier output token, the row's largest id,
            // takes the frequency penalty.
            var sampler = new TokenSampler(options with { Seed = ((ulong)seed << 20) + (ulong)i }, [100_270], resumedOutputTokens: 1);
            var id = sampler.Sample(row, scratch);
            Assert.True(bucketOf.TryGetValue(id, out var bucket), $"Drew id {id} (rank {Array.IndexOf(order, id)}), outside the {nucleus} kept.");
            counts[bucket]++;
        }

        // Up to 15 degrees of freedom: a chi-square above 60 has probability below 1e-6; the seed makes it deterministic.
        Assert.InRange(ChiSquare(counts, expected), 0, 60);
    }

    [Theory]
    [InlineData(1f, 7)]
    [InlineData(0.5f, 8)]
    [InlineData(2f, 9)]
    public void Samples_follow_the_softmax_of_the_tempered_logits(float temperature, int seed)
    {
        // Five degrees of freedom: a chi-square above 40 has probability below 1e-6; the seed makes the check deterministic.
        var logits = Logs(0.4, 0.25, 0.15, 0.1, 0.06, 0.04);
        var weights = logits.Select(l => Math.Exp(l / temperature)).ToArray();
        var expected = weights.Select(w => w / weights.Sum()).ToArray();
        var counts = Counts(new TokenSampler(new SamplingOptions { Temperature = temperature, Seed = (ulong)seed }), logits, 30_000);
        Assert.InRange(ChiSquare(counts, expected), 0, 40);
    }

    [Fact]
    public void Samples_over_a_large_vocabulary_follow_the_softmax()
    {
        // 100,000 ids in 8 groups of equal logits: the group frequencies follow the group masses.
        var logits = Enumerable.Range(0, 100_000).Select(i => (float)(i % 8) * 0.3f).ToArray();
        var weights = Enumerable.Range(0, 8).Select(g => Math.Exp(g * 0.3)).ToArray();
        var expected = weights.Select(w => w / weights.Sum()).ToArray();
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1f, Seed = 3 });
        var scratch = new SamplerScratch(logits.Length);
        var groups = new int[8];
        for (var i = 0; i < 4000; i++)
        {
            groups[sampler.Sample(logits, scratch) % 8]++;
        }

        Assert.InRange(ChiSquare(groups, expected), 0, 45);
    }

    [Fact]
    public void The_same_seed_draws_the_same_tokens_and_a_draw_depends_only_on_seed_and_position()
    {
        var logits = RandomLogits(1000, 5, spread: 3);
        var options = new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = 42 };
        var a = new TokenSampler(options);
        var b = new TokenSampler(options);
        var other = new TokenSampler(options with { Seed = 43 });
        var scratch = new SamplerScratch(1000);
        var same = 0;
        for (var i = 0; i < 200; i++)
        {
            // Another sequence sampling between the two changes nothing.
            other.Sample(RandomLogits(1000, i, spread: 3), scratch);
            var x = a.Sample(logits, scratch);
            Assert.Equal(x, b.Sample(logits, new SamplerScratch(1000)));
            same += x == other.Sample(logits, scratch) ? 1 : 0;
        }

        Assert.True(same < 50, "a different seed drew nearly the same tokens");
    }

    [Fact]
    public void Top_p_top_k_and_min_p_never_pick_outside_their_set()
    {
        var logits = Logs(0.5, 0.3, 0.15, 0.05);
        var seen = new Dictionary<string, SortedSet<int>>();
        var samplers = new Dictionary<string, TokenSampler>
        {
            ["top_p"] = new(new SamplingOptions { TopP = 0.75f, Seed = 1 }),
            ["top_k"] = new(new SamplingOptions { TopK = 3, Seed = 1 }),
            ["min_p"] = new(new SamplingOptions { MinP = 0.35f, Seed = 1 }),
            ["all"] = new(new SamplingOptions { TopK = 3, TopP = 0.95f, MinP = 0.2f, Seed = 1 }),
        };
        var scratch = new SamplerScratch(4);
        foreach (var (name, sampler) in samplers)
        {
            seen[name] = [];
            for (var i = 0; i < 3000; i++)
            {
                seen[name].Add(sampler.Sample(logits, scratch));
            }
        }

        Assert.Equal([0, 1], seen["top_p"]);
        Assert.Equal([0, 1, 2], seen["top_k"]);
        Assert.Equal([0, 1], seen["min_p"]);
        // min-p keeps 0..2 (0.15 ≥ 0.2 × 0.5), top-k 3 keeps them, top-p 0.95 of their 0.95 mass needs all three.
        Assert.Equal([0, 1, 2], seen["all"]);
    }

    [Theory]
    [InlineData(0.75f, 0f, 21)]
    [InlineData(0.95f, 0f, 22)]
    [InlineData(0.05f, 0f, 23)]
    [InlineData(0.9f, 0.25f, 24)]
    public void Top_p_samples_follow_the_renormalised_nucleus(float topP, float minP, int seed)
    {
        double[] probabilities = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];
        var floor = minP * probabilities[0];
        var kept = probabilities.Where(p => p >= floor).ToArray();
        var mass = 0.0;
        var nucleus = 0;
        while (mass < topP * kept.Sum() - 1e-9)
        {
            mass += kept[nucleus++];
        }

        var expected = probabilities.Select((p, i) => i < nucleus ? p / mass : 0).ToArray();
        var counts = Counts(new TokenSampler(new SamplingOptions { TopP = topP, MinP = minP, Seed = (ulong)seed }), Logs(probabilities), 30_000);
        Assert.InRange(ChiSquare(counts, expected), 0, 40);
    }

    [Fact]
    public void Top_p_renormalises_over_what_min_p_and_top_k_kept()
    {
        // Kept by top-k 2: {0.5, 0.3}; top-p 0.6 of their 0.8 is 0.48 < 0.5, so only the first survives.
        var sampler = new TokenSampler(new SamplingOptions { TopK = 2, TopP = 0.6f, Seed = 9 });
        Assert.Equal([10_000, 0, 0, 0], Counts(sampler, Logs(0.5, 0.3, 0.15, 0.05), 10_000));
    }

    [Fact]
    public void Logit_bias_minus_100_bans_and_plus_100_forces()
    {
        var flat = new float[50];
        var banned = new TokenSampler(new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [0] = -100f, [1] = -100f } });
        var counts = Counts(banned, flat, 5000);
        Assert.Equal(0, counts[0] + counts[1]);

        var forced = new TokenSampler(new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [7] = 100f } });
        Assert.Equal(2000, Counts(forced, flat, 2000)[7]);

        var greedy = new TokenSampler(SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [3] = 1f } });
        Assert.False(greedy.IsPlainGreedy);
        Assert.Equal(3, greedy.Sample(flat, new SamplerScratch(50)));
    }

    [Fact]
    public void Presence_and_frequency_penalties_push_repeated_tokens_down()
    {
        float[] logits = [1.0f, 0.9f, 0.0f];
        var scratch = new SamplerScratch(3);
        var presence = new TokenSampler(SamplingOptions.Greedy with { PresencePenalty = 0.5f });
        // 0 (1.0); then 1 (0.9 > 0.5); then both penalised once: 0 (0.5 > 0.4); 0 and 1 stay penalised once: 0.
        Assert.Equal([0, 1, 0, 0], Enumerable.Range(0, 4).Select(_ => presence.Sample(logits, scratch)));

        var frequency = new TokenSampler(SamplingOptions.Greedy with { FrequencyPenalty = 0.3f });
        // 0; 0.7 < 0.9 so 1; 0.7 > 0.6 so 0; 0.4 < 0.6 so 1; 0.4 > 0.3 so 0.
        Assert.Equal([0, 1, 0, 1, 0], Enumerable.Range(0, 5).Select(_ => frequency.Sample(logits, scratch)));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
    {
        var scratch = new SamplerScratch(2);
        var positive = new TokenSampler(SamplingOptions.Greedy with { RepetitionPenalty = 2f }, prompt: [0]);
        Assert.Equal(1, positive.Sample([2.0f, 1.5f], scratch));
        var negative = new TokenSampler(SamplingOptions.Greedy with { RepetitionPenalty = 2f }, prompt: [0]);
        Assert.Equal(1, negative.Sample([-1.0f, -1.5f], scratch));
        var unseen = new TokenSampler(SamplingOptions.Greedy with { RepetitionPenalty = 2f }, prompt: [5]);
        Assert.Equal(0, unseen.Sample([2.0f, 1.5f], scratch));
    }

    [Fact]
    public void Min_tokens_masks_the_end_ids_until_enough_tokens_are_out()
    {
        float[] logits = [5f, 1f, 0f];
        var sampler = new TokenSampler(SamplingOptions.Greedy, endTokenIds: [0], minTokens: 3);
        Assert.Equal([1, 1, 1, 0], Enumerable.Range(0, 4).Select(_ => sampler.Sample(logits, new SamplerScratch(3))));

        var resumed = new TokenSampler(SamplingOptions.Greedy, prompt: [9, 1, 1], resumedOutputTokens: 2, endTokenIds: [0], minTokens: 3);
        Assert.Equal([1, 0], Enumerable.Range(0, 2).Select(_ => resumed.Sample(logits, new SamplerScratch(3))));
    }

    [Fact]
    public void A_resumed_sampler_continues_exactly_as_the_uninterrupted_one()
    {
        var options = new SamplingOptions { Temperature = 0.8f, TopP = 0.95f, Seed = 77, PresencePenalty = 0.4f, FrequencyPenalty = 0.3f, RepetitionPenalty = 1.3f };
        int[] prompt = [3, 14, 15, 92];
        var rows = Enumerable.Range(0, 30).Select(i => RandomLogits(500, 100 + i, spread: 4)).ToArray();
        var scratch = new SamplerScratch(500);
        var whole = new TokenSampler(options, prompt);
        var tokens = rows.Select(r => whole.Sample(r, scratch)).ToArray();

        var resumed = new TokenSampler(options, [.. prompt, .. tokens[..12]], resumedOutputTokens: 12);
        Assert.Equal(12, resumed.Position);
        Assert.Equal(tokens[12..], rows[12..].Select(r => resumed.Sample(r, scratch)));
    }
}
