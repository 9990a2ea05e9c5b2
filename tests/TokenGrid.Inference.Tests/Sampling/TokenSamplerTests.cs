using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Tests.Sampling;

public sealed class TokenSamplerTests
{
    private static float[] RandomLogits(int n, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 10))];
    }

    [Fact]
    public void Greedy_takes_the_largest_logit()
    {
        var logits = RandomLogits(5000, 1);
        var expected = Array.IndexOf(logits, logits.Max());
        var sampler = new TokenSampler(SamplingOptions.Greedy);
        Assert.Equal(expected, sampler.Sample(logits, new float[5000], new int[5000]));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    [InlineData(0.999f)]
    public void Nucleus_selection_matches_a_full_sort(float topP)
    {
        var probs = RandomLogits(20_000, 7).Select(x => MathF.Exp(x)).ToArray();
        var total = probs.Sum(x => (double)x);
        var indices = Enumerable.Range(0, probs.Length).ToArray();
        var count = TokenSampler.SelectNucleus(indices, probs, (float)(topP * total));

        var sorted = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).ToArray();
        var mass = 0.0;
        var expected = 0;
        while (mass < topP * total)
        {
            mass += probs[sorted[expected++]];
        }

        Assert.Equal(expected, count);
        Assert.Equal(sorted.Take(expected).Order(), indices.Take(count).Order());
    }

    [Fact]
    public void Top_k_selection_keeps_the_k_largest()
    {
        var values = RandomLogits(10_000, 3);
        var indices = Enumerable.Range(0, values.Length).ToArray();
        TokenSampler.SelectLargest(indices, values, 50);
        var expected = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).Take(50).Order();
        Assert.Equal(expected, indices.Take(50).Order());
    }

    [Fact]
    public void Same_seed_same_draws_and_samples_follow_the_distribution()
    {
        float[] logits = [MathF.Log(0.7f), MathF.Log(0.2f), MathF.Log(0.1f)];
        var options = new SamplingOptions { Temperature = 1f, Seed = 42 };
        var a = new TokenSampler(options);
        var b = new TokenSampler(options);
        var counts = new int[3];
        for (var i = 0; i < 20_000; i++)
        {
            var x = a.Sample(logits, new float[3], new int[3]);
            Assert.Equal(x, b.Sample(logits, new float[3], new int[3]));
            counts[x]++;
        }

        Assert.InRange(counts[0] / 20_000.0, 0.67, 0.73);
        Assert.InRange(counts[1] / 20_000.0, 0.18, 0.22);
        Assert.InRange(counts[2] / 20_000.0, 0.08, 0.12);
    }

    [Fact]
    public void Top_p_and_top_k_never_pick_outside_their_set()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var topP = new TokenSampler(new SamplingOptions { TopP = 0.75f, Seed = 1 });
        var topK = new TokenSampler(new SamplingOptions { TopK = 3, Seed = 1 });
        var seenP = new HashSet<int>();
        var seenK = new HashSet<int>();
        for (var i = 0; i < 5_000; i++)
        {
            seenP.Add(topP.Sample(logits, new float[4], new int[4]));
            seenK.Add(topK.Sample(logits, new float[4], new int[4]));
        }

        Assert.Equal([0, 1], seenP.Order());
        Assert.Equal([0, 1, 2], seenK.Order());
    }
}
