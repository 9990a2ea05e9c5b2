namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// Initial values of the demo model's weights. A random model is no language model, but the scales are
/// chosen so it behaves like one where tests look: its greedy continuation depends on the prompt and keeps
/// changing token. Two choices matter. Token embeddings are small next to the blocks' outputs, because with a
/// tied LM head a large embedding in the residual stream makes the model echo its current token forever.
/// The query/key/value weights have three times the unit-variance standard deviation, so attention is sharp;
/// soft attention averages the context into nearly the same state at every step and the model repeats itself. Token embedding rows
/// also share one norm, so no "hub" token with a long embedding wins every argmax.
/// </summary>
internal static class Gpt2Weights
{
    /// <summary>Per-element scale of the token embedding (each row is scaled to norm EmbeddingStd * sqrt(d)).</summary>
    public const double EmbeddingStd = 0.01;

    /// <summary>Standard deviation of the learned position embedding.</summary>
    public const double PositionStd = 0.01;

    /// <summary>Standard deviation of every bias (LayerNorm gains are 1).</summary>
    public const double BiasStd = 0.02;

    /// <summary>The fused query/key/value projection: three times the unit-variance standard deviation, for sharp attention.</summary>
    public static double QkvStd(int d) => 3.0 / Math.Sqrt(d);

    /// <summary>Attention output and MLP projections: unit-variance outputs from unit-variance inputs.</summary>
    public static double AttentionOutStd(int d) => 1.0 / Math.Sqrt(d);

    public static double MlpInStd(int d) => 1.0 / Math.Sqrt(d);

    public static double MlpOutStd(int d) => 1.0 / Math.Sqrt(4.0 * d);

    public static float[] Normal(DemoModelSpec spec, string name, int count, double std) =>
        new DemoRandom(spec.Seed, name).Normal(count, std);

    public static float[] Ones(int count)
    {
        var values = new float[count];
        Array.Fill(values, 1f);
        return values;
    }

    /// <summary>[vocab, d] rows of equal norm in random directions.</summary>
    public static float[] TokenEmbedding(DemoModelSpec spec)
    {
        var d = spec.HiddenSize;
        var random = new DemoRandom(spec.Seed, "transformer.wte.weight");
        var values = new float[(long)spec.VocabSize * d];
        var row = new double[d];
        var norm = EmbeddingStd * Math.Sqrt(d);
        for (var r = 0; r < spec.VocabSize; r++)
        {
            var sum = 0.0;
            for (var i = 0; i < d; i++)
            {
                row[i] = random.NextNormal();
                sum += row[i] * row[i];
            }

            var scale = norm / Math.Sqrt(sum);
            for (var i = 0; i < d; i++)
            {
                values[((long)r * d) + i] = (float)(row[i] * scale);
            }
        }

        return values;
    }
}
