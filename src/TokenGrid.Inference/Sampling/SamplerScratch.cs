namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Working memory for sampling one row of logits: one per thread that samples (a sampler itself holds only its
/// sequence's state), so rows of a batch can be sampled in parallel without sharing buffers.
/// </summary>
public sealed class SamplerScratch
{
    /// <summary>Creates scratch for rows of <paramref name="vocabulary"/> logits.</summary>
    public SamplerScratch(int vocabulary)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabulary);
        Values = new float[vocabulary];
        BlockSums = new float[(vocabulary + ProbabilityKernels.Block - 1) / ProbabilityKernels.Block];
        BandKeys = new float[ProbabilityCut.BandLimit];
        BandItems = new int[ProbabilityCut.BandLimit];
        GroupMaxima = new float[GroupDraw.GroupCount(vocabulary)];
        GroupWeights = new float[GroupMaxima.Length];
        GroupSums = new float[GroupDraw.BlockCount(vocabulary)];
        _vocabulary = vocabulary;
    }

    private readonly int _vocabulary;
    private float[]? _masked;
    private float[] _saved = [];
    private ulong[]? _allowed;
    private Constraints.MaskScratch? _mask;

    /// <summary>A row with the tokens a constraint forbids set to −∞ (allocated on first use).</summary>
    internal float[] Masked => _masked ??= new float[_vocabulary];

    /// <summary>Room for <paramref name="count"/> logits kept while a row is adjusted in place (grown on demand).</summary>
    internal Span<float> Saved(int count)
    {
        if (_saved.Length < count)
        {
            _saved = new float[Math.Max(count, 2 * _saved.Length)];
        }

        return _saved.AsSpan(0, count);
    }

    /// <summary>One bit per id: the tokens a constraint allows (allocated on first use).</summary>
    internal ulong[] Allowed => _allowed ??= new ulong[(_vocabulary + 63) / 64];

    /// <summary>Working memory for computing a constraint's mask (allocated on first use).</summary>
    internal Constraints.MaskScratch Mask => _mask ??= new Constraints.MaskScratch();

    /// <summary>The row being worked on: scaled logits, then unnormalised probabilities.</summary>
    internal float[] Values { get; }

    /// <summary>Sums of <see cref="ProbabilityKernels.Block"/>-sized slices of <see cref="Values"/>, for the draw.</summary>
    internal float[] BlockSums { get; }

    /// <summary>Every group's maximum logit, for <see cref="GroupDraw"/>.</summary>
    internal float[] GroupMaxima { get; }

    /// <summary>Every group's weight, for <see cref="GroupDraw"/>.</summary>
    internal float[] GroupWeights { get; }

    /// <summary>Sums of <see cref="GroupDraw.GroupBlock"/> group weights, for <see cref="GroupDraw"/>'s walk.</summary>
    internal float[] GroupSums { get; }

    /// <summary>Candidate values (negated, so an ascending sort puts the most likely first); grows when ties demand it.</summary>
    internal float[] BandKeys { get; private set; }

    /// <summary>Candidate token ids, parallel to <see cref="BandKeys"/>.</summary>
    internal int[] BandItems { get; private set; }

    /// <summary>Makes room for <paramref name="count"/> candidates.</summary>
    internal void EnsureBand(int count)
    {
        if (BandKeys.Length < count)
        {
            BandKeys = new float[count];
            BandItems = new int[count];
        }
    }
}
