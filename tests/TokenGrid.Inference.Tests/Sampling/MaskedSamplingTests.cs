using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

/// <summary>
/// A masked row with few allowed ids is sampled from those ids alone: the result must be what the whole row with −∞
/// elsewhere would give, i.e. the softmax over the allowed ids (and their argmax when greedy), cuts included.
/// </summary>
public sealed class MaskedSamplingTests
{
    private const int Vocabulary = 1_000;

    private static (float[] Logits, ulong[] Mask, int[] Allowed) Row(int seed, int allowed = 40)
    {
        var random = new Random(seed);
        var logits = Enumerable.Range(0, Vocabulary).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var ids = Enumerable.Range(0, Vocabulary).OrderBy(_ => random.Next()).Take(allowed).Order().ToArray();
        var mask = new ulong[(Vocabulary + 63) / 64];
        foreach (var id in ids)
        {
            mask[id >> 6] |= 1UL << (id & 63);
        }

        return (logits, mask, ids);
    }

    [Fact]
    public void Greedy_takes_the_best_allowed_id()
    {
        var (logits, mask, ids) = Row(1);
        var sampler = new TokenSampler(SamplingOptions.Greedy);
        Assert.Equal(ids.MaxBy(id => logits[id]), sampler.Sample(logits, new SamplerScratch(Vocabulary), mask, ids.Length));
    }

    [Fact]
    public void Temperature_draws_follow_the_softmax_over_the_allowed_ids()
    {
        var (logits, mask, ids) = Row(2);
        var scratch = new SamplerScratch(Vocabulary);
        var counts = new Dictionary<int, int>();
        const int Draws = 40_000;
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 0.8f, Seed = 5 });
        for (var i = 0; i < Draws; i++)
        {
            var token = sampler.Sample(logits, scratch, mask, ids.Length);
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }

        Assert.All(counts.Keys, id => Assert.Contains(id, ids));
        var weights = ids.ToDictionary(id => id, id => Math.Exp(logits[id] / 0.8));
        var total = weights.Values.Sum();
        foreach (var id in ids)
        {
            var expected = weights[id] / total * Draws;
            Assert.InRange(counts.GetValueOrDefault(id), expected - (5 * Math.Sqrt(expected)) - 5, expected + (5 * Math.Sqrt(expected)) + 5);
        }
    }

    [Fact]
    public void Top_p_and_top_k_cut_among_the_allowed_ids()
    {
        var (logits, mask, ids) = Row(3);
        var scratch = new SamplerScratch(Vocabulary);
        var byLikelihood = ids.OrderByDescending(id => logits[id]).ToArray();
        var topK = new TokenSampler(new SamplingOptions { Temperature = 1f, TopK = 3, Seed = 1 });
        var topP = new TokenSampler(new SamplingOptions { Temperature = 1f, TopP = 0.3f, Seed = 1 });
        var weights = byLikelihood.Select(id => Math.Exp(logits[id])).ToArray();
        var nucleus = 0;
        for (var mass = 0.0; mass < 0.3 * weights.Sum(); nucleus++)
        {
            mass += weights[nucleus];
        }

        for (var i = 0; i < 2_000; i++)
        {
            Assert.Contains(topK.Sample(logits, scratch, mask, ids.Length), byLikelihood[..3]);
            Assert.Contains(topP.Sample(logits, scratch, mask, ids.Length), byLikelihood[..nucleus]);
        }
    }
}
