using System.Numerics;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

/// <summary>
/// <see cref="TokenSampler.SampleInPlace"/> changes the touched logits where they lie instead of in a copy of the row:
/// it must choose what <see cref="TokenSampler.Sample(ReadOnlySpan{float}, SamplerScratch, ulong[], int)"/> chooses,
/// token for token, and leave every bit of the row as it found it (the engine reads the row again for log probabilities).
/// </summary>
public sealed class InPlaceSamplingTests
{
    public static TheoryData<string, int> Settings()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in s_options.Keys)
        {
            foreach (var vocabulary in new[] { 500, 100_277 })
            {
                data.Add(name, vocabulary);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, SamplingOptions> s_options = new()
    {
        ["greedy, penalties"] = SamplingOptions.Greedy with { PresencePenalty = 0.5f, FrequencyPenalty = 0.3f, RepetitionPenalty = 1.3f },
        ["temperature, repetition"] = new SamplingOptions { Temperature = 1f, RepetitionPenalty = 1.2f },
        ["top-p, bias"] = new SamplingOptions { Temperature = 1f, TopP = 0.9f, LogitBias = new Dictionary<int, float> { [7] = 3f, [499] = -100f, [11] = 2f } },
        ["min-p, presence"] = new SamplingOptions { Temperature = 0.8f, MinP = 0.05f, PresencePenalty = 1f },
        ["Qwen 2.5 defaults"] = new SamplingOptions { Temperature = 0.7f, TopK = 20, TopP = 0.8f, RepetitionPenalty = 1.05f },
        ["top-k 300, frequency"] = new SamplingOptions { Temperature = 1.2f, TopK = 300, FrequencyPenalty = 0.8f },
        ["top-k 600, frequency"] = new SamplingOptions { Temperature = 1.2f, TopK = 600, FrequencyPenalty = 0.8f },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Sampling_in_place_chooses_as_the_copy_does_and_restores_every_bit(string setting, int vocabulary)
    {
        var options = s_options[setting] with { Seed = 2024 };
        int[] prompt = [3, 7, 11, 42, 3, 480, vocabulary - 1];
        var copying = new TokenSampler(options, prompt, endTokenIds: [5], minTokens: 4);
        var inPlace = new TokenSampler(options, prompt, endTokenIds: [5], minTokens: 4);
        var (a, b) = (new SamplerScratch(vocabulary), new SamplerScratch(vocabulary));
        for (var step = 0; step < 40; step++)
        {
            // Peaked rows (the first token's logit far above), so penalties decide draws; odd values at touched ids.
            var row = TokenSamplerTests.RandomLogits(vocabulary, 1000 + step, spread: 6);
            row[3] = 9f;
            row[42] = -0f;
            row[480] = -4f;
            var before = Bits(row);
            var expected = copying.Sample(row, a);
            var chosen = inPlace.SampleInPlace(row, b);
            Assert.Equal(expected, chosen);
            Assert.Equal(before, Bits(row));
        }
    }

    [Theory]
    [InlineData(500, 30)]
    [InlineData(100_277, 30)]
    [InlineData(100_277, 60_000)]
    public void Sampling_in_place_under_a_constraint_mask_chooses_as_the_copy_does(int vocabulary, int allowedCount)
    {
        // A sparse mask samples among the allowed ids; a dense one masks a copy of the row, and adjusts that copy.
        var options = new SamplingOptions { Temperature = 0.9f, TopP = 0.95f, Seed = 7, RepetitionPenalty = 1.5f, LogitBias = new Dictionary<int, float> { [8] = 4f } };
        var allowed = new ulong[(vocabulary + 63) / 64];
        var random = new Random(allowedCount);
        var ids = Enumerable.Range(0, vocabulary).OrderBy(_ => random.Next()).Take(allowedCount).Append(8).Append(3).Distinct().ToArray();
        foreach (var id in ids)
        {
            allowed[id / 64] |= 1UL << (id % 64);
        }

        var count = allowed.Sum(w => BitOperations.PopCount(w));
        var copying = new TokenSampler(options, [3, 8]);
        var inPlace = new TokenSampler(options, [3, 8]);
        var (a, b) = (new SamplerScratch(vocabulary), new SamplerScratch(vocabulary));
        for (var step = 0; step < 30; step++)
        {
            var row = TokenSamplerTests.RandomLogits(vocabulary, 77 + step, spread: 5);
            var before = Bits(row);
            var expected = copying.Sample(row, a, allowed, count);
            Assert.Equal(expected, inPlace.SampleInPlace(row, b, allowed, count));
            Assert.Contains(expected, ids);
            Assert.Equal(before, Bits(row));
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(100_277)]
    public void When_every_value_is_banned_both_take_the_models_own_choice_from_the_row_as_it_came(int vocabulary)
    {
        // Only id 5 has a finite logit, and min_tokens bans it: every adjusted value is −∞, so the draw falls back to the
        // row's own argmax, which in place is only there again once the row is restored.
        var row = new float[vocabulary];
        Array.Fill(row, float.NegativeInfinity);
        row[5] = 2f;
        var before = Bits(row);
        var options = new SamplingOptions { Temperature = 1f, Seed = 3, PresencePenalty = 0.1f };
        var copying = new TokenSampler(options, endTokenIds: [5], minTokens: 2);
        var inPlace = new TokenSampler(options, endTokenIds: [5], minTokens: 2);
        Assert.Equal(5, copying.Sample(row, new SamplerScratch(vocabulary)));
        Assert.Equal(5, inPlace.SampleInPlace(row, new SamplerScratch(vocabulary)));
        Assert.Equal(before, Bits(row));
    }

    [Fact]
    public void A_nan_at_a_touched_id_is_taken_as_greedy_takes_it_and_put_back_with_its_payload()
    {
        const int vocabulary = 100_277;
        var row = TokenSamplerTests.RandomLogits(vocabulary, 5, spread: 3);
        var nan = BitConverter.Int32BitsToSingle(unchecked((int)0x7FC0_ABCD));
        row[321] = nan;
        var before = Bits(row);
        var options = new SamplingOptions { Temperature = 1f, Seed = 9, RepetitionPenalty = 1.1f };
        var copying = new TokenSampler(options, [321, 4]);
        var inPlace = new TokenSampler(options, [321, 4]);
        Assert.Equal(321, copying.Sample(row, new SamplerScratch(vocabulary)));
        Assert.Equal(321, inPlace.SampleInPlace(row, new SamplerScratch(vocabulary)));
        Assert.Equal(before, Bits(row));
    }

    public static TheoryData<string, int> Unadjusted()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "temperature", "top-p", "min-p", "top-k 20", "top-k 300", "top-k 600" })
        {
            foreach (var vocabulary in new[] { 16, 100_277 })
            {
                data.Add(name, vocabulary);
            }
        }

        return data;
    }

    private static SamplingOptions Options(string name) => name switch
    {
        "temperature" => new SamplingOptions { Temperature = 1f, Seed = 3 },
        "top-p" => new SamplingOptions { Temperature = 0.7f, TopP = 0.9f, Seed = 3 },
        "min-p" => new SamplingOptions { Temperature = 1f, MinP = 0.1f, Seed = 3 },
        "top-k 20" => new SamplingOptions { Temperature = 1f, TopK = 20, Seed = 3 },
        "top-k 300" => new SamplingOptions { Temperature = 1f, TopK = 300, Seed = 3 },
        _ => new SamplingOptions { Temperature = 1f, TopK = 600, Seed = 3 },
    };

    /// <summary>
    /// A non-greedy sampler with no penalty, bias or active min-tokens mask, over a row where every value is −∞: the draw
    /// falls back to the model's own choice (the row's argmax, id 0), never an id outside the vocabulary.
    /// </summary>
    [Theory]
    [MemberData(nameof(Unadjusted))]
    public void An_all_banned_row_without_adjustments_still_gets_a_real_token(string setting, int vocabulary)
    {
        var row = new float[vocabulary];
        Array.Fill(row, float.NegativeInfinity);
        Assert.Equal(0, new TokenSampler(Options(setting)).Sample(row, new SamplerScratch(vocabulary)));
        Assert.Equal(0, new TokenSampler(Options(setting)).SampleInPlace(row, new SamplerScratch(vocabulary)));
    }

    /// <summary>The same through a dense constraint mask: allowedCount 0 (a constraint with no way on) masks everything.</summary>
    [Fact]
    public void A_constraint_that_allows_nothing_still_gets_a_real_token()
    {
        const int vocabulary = 100_277;
        var row = TokenSamplerTests.RandomLogits(vocabulary, 4, spread: 5);
        var allowed = new ulong[(vocabulary + 63) / 64];
        var options = new SamplingOptions { Temperature = 1f, Seed = 3 };
        Assert.Equal(0, new TokenSampler(options).Sample(row, new SamplerScratch(vocabulary), allowed, 0));
        Assert.Equal(0, new TokenSampler(options).SampleInPlace(row, new SamplerScratch(vocabulary), allowed, 0));
    }

    /// <summary>
    /// An exception thrown by the draw after the touched ids were adjusted (here: a scratch too small for the row) must
    /// still leave the caller's row as it came.
    /// </summary>
    [Fact]
    public void A_draw_that_throws_still_restores_the_row()
    {
        var row = TokenSamplerTests.RandomLogits(3_000, 8, spread: 5);
        var before = Bits(row);
        var options = new SamplingOptions { Temperature = 1f, Seed = 1, RepetitionPenalty = 1.7f, LogitBias = new Dictionary<int, float> { [5] = 3f, [2_999] = -50f } };
        var sampler = new TokenSampler(options, [1, 2, 3, 2_000]);
        Assert.ThrowsAny<ArgumentException>(() => sampler.SampleInPlace(row, new SamplerScratch(1_000)));
        Assert.Equal(before, Bits(row));
    }

    public static TheoryData<int, string, bool> Orders()
    {
        var data = new TheoryData<int, string, bool>();
        foreach (var vocabulary in new[] { 4, 3_000 })
        {
            foreach (var constraint in vocabulary == 4 ? new[] { "none", "sparse" } : ["none", "sparse", "dense"])
            {
                data.Add(vocabulary, constraint, false);
                data.Add(vocabulary, constraint, true);
            }
        }

        return data;
    }

    /// <summary>
    /// Pins vLLM's order (min-tokens mask, bias, repetition, then frequency/presence) with hand-computed values, on every
    /// path,, so that a mistake shared by Sample and SampleInPlace (both go through TokenHistory.Adjust) is caught, which
    /// comparing the two with each other cannot.
    /// Step 1: id 0 = (2 − 1) / 2 = 0.5 &gt; id 1's 0.3 (bias after repetition would give 0). Step 2: id 0 = 0.5 − 0.3 =
    /// 0.2 &lt; 0.3 (frequency before repetition would give 0.35). Step 3: id 1 = 0.3 / 2 − 0.3 &lt; id 0's 0.2. Steps 1–3
    /// mask id 2 (5 + 100); step 4 takes it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Orders))]
    public void Mask_bias_repetition_and_frequency_apply_in_vllms_order(int vocabulary, string constraint, bool inPlace)
    {
        var options = SamplingOptions.Greedy with { RepetitionPenalty = 2f, FrequencyPenalty = 0.3f, LogitBias = new Dictionary<int, float> { [0] = -1f, [2] = 100f } };
        var sampler = new TokenSampler(options, prompt: [0], endTokenIds: [2], minTokens: 3);
        var scratch = new SamplerScratch(vocabulary);
        ulong[]? allowed = null;
        var count = 0;
        if (constraint != "none")
        {
            allowed = new ulong[(vocabulary + 63) / 64];
            var ids = constraint == "sparse" ? Enumerable.Range(0, 3) : Enumerable.Range(0, vocabulary).Where(id => id != 3);
            foreach (var id in ids)
            {
                allowed[id / 64] |= 1UL << (id % 64);
            }

            count = allowed.Sum(w => BitOperations.PopCount(w));
        }

        var chosen = new List<int>();
        for (var step = 0; step < 4; step++)
        {
            var row = new float[vocabulary];
            Array.Fill(row, -10f);
            (row[0], row[1], row[2]) = (2f, 0.3f, 5f);
            var before = Bits(row);
            chosen.Add(inPlace ? sampler.SampleInPlace(row, scratch, allowed, count) : sampler.Sample(row, scratch, allowed, count));
            Assert.Equal(before, Bits(row));
        }

        Assert.Equal([0, 1, 0, 2], chosen);
    }

    private static int[] Bits(float[] row) => [.. row.Select(BitConverter.SingleToInt32Bits)];
}
