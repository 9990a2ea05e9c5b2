namespace TokenGrid.Inference.Sampling;

/// <summary>
/// A counter-based random stream: the draw for output position <c>i</c> of a sequence is a hash of (seed, i), so it
/// never depends on other sequences, on the batch composition or on scheduling, and a resumed sequence continues the
/// stream by starting at the position it resumes from.
/// </summary>
internal static class CounterRandom
{
    /// <summary>
    /// A uniform double in [0, 1) for <paramref name="position"/> of the stream <paramref name="seed"/>; further
    /// <paramref name="attempt"/>s at one position (rejection sampling) get further independent numbers.
    /// </summary>
    public static double Uniform(ulong seed, long position, int attempt = 0)
    {
        // SplitMix64's finaliser over a Weyl sequence keyed by the seed: stable across runtimes, unlike System.Random.
        var z = Mix(seed) + ((ulong)position * 0x9E3779B97F4A7C15UL);
        if (attempt > 0)
        {
            z = Mix(z) + ((ulong)attempt * 0xD1B54A32D192ED03UL);
        }

        return (Mix(z) >> 11) * (1.0 / (1UL << 53));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
