namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// The demo model's weight generator: SplitMix64 for uniform bits and Box-Muller for normals. Written out
/// rather than <see cref="Random"/> so the weights stay the same across .NET versions. Each tensor gets its
/// own stream, derived from the seed and the tensor's name, so a tensor's values do not depend on which
/// other tensors a variant has or in which order they are made.
/// </summary>
internal sealed class DemoRandom
{
    private ulong _state;
    private double? _spare;

    public DemoRandom(int seed, string stream)
    {
        // FNV-1a over the stream name, mixed with the seed.
        var hash = 14695981039346656037UL;
        foreach (var c in stream)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        _state = hash ^ ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL);
        NextUInt64();
    }

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1): never 0, so its logarithm is finite.</summary>
    public double NextOpenUnit() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    public double NextNormal()
    {
        if (_spare is { } spare)
        {
            _spare = null;
            return spare;
        }

        var radius = Math.Sqrt(-2.0 * Math.Log(NextOpenUnit()));
        var angle = 2.0 * Math.PI * NextOpenUnit();
        _spare = radius * Math.Sin(angle);
        return radius * Math.Cos(angle);
    }

    /// <summary>Normal values with mean 0 and standard deviation <paramref name="std"/>.</summary>
    public float[] Normal(int count, double std)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(NextNormal() * std);
        }

        return values;
    }
}
