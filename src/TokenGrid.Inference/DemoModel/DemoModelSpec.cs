using System.Globalization;

namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// Describes one variant of the demo model: a small GPT-2-architecture decoder with deterministic random
/// weights, written as ONNX by <see cref="DemoModelBuilder"/>. The shape fields set the size; the I/O fields
/// reproduce the input/output conventions of the common ONNX decoder exports so the engine can be tested
/// against each of them.
/// </summary>
public sealed record DemoModelSpec
{
    /// <summary>Bumped whenever the builder's output changes, so cached models are rebuilt.</summary>
    internal const int FormatVersion = 1;

    /// <summary>Number of transformer blocks. Default: 4.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Width of the residual stream; a multiple of <see cref="Heads"/>. Default: 128.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Attention heads per block. Default: 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>
    /// Key/value heads per block; fewer than <see cref="Heads"/> (which it must divide) makes the model use
    /// grouped-query attention, each key/value head serving <see cref="Heads"/> / KvHeads query heads, and the cache
    /// hold only the key/value heads. 0 means as many as <see cref="Heads"/>. Default: 0.
    /// </summary>
    public int KvHeads { get; init; }

    /// <summary>Positions the learned position embedding covers (the model's maximum length). Default: 512.</summary>
    public int ContextLength { get; init; } = 512;

    /// <summary>Vocabulary size. Default: 100277, cl100k_base including its special tokens.</summary>
    public int VocabSize { get; init; } = 100277;

    /// <summary>Seed of the weights; the same seed and shape give the same weights. Default: 1234.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>Key/value cache layout of the inputs and outputs. Default: <see cref="KvCacheLayout.PerLayerKeyValue"/>.</summary>
    public KvCacheLayout KvLayout { get; init; } = KvCacheLayout.PerLayerKeyValue;

    /// <summary>
    /// Whether the model takes a <c>position_ids</c> input; without it the model derives positions from the
    /// attention mask. Default: true.
    /// </summary>
    public bool PositionIdsInput { get; init; } = true;

    /// <summary>Element type of <c>input_ids</c>, <c>attention_mask</c> and <c>position_ids</c>. Default: <see cref="TokenIdType.Int64"/>.</summary>
    public TokenIdType IdType { get; init; } = TokenIdType.Int64;

    /// <summary>
    /// Element type of the past inputs and present outputs; the computation itself stays float32.
    /// Default: <see cref="TensorPrecision.Float32"/>.
    /// </summary>
    public TensorPrecision KvPrecision { get; init; } = TensorPrecision.Float32;

    /// <summary>Element type of the <c>logits</c> output. Default: <see cref="TensorPrecision.Float32"/>.</summary>
    public TensorPrecision LogitsPrecision { get; init; } = TensorPrecision.Float32;

    /// <summary>
    /// Whether the model takes the boolean <c>use_cache_branch</c> input of Optimum's merged decoders: when false
    /// the model ignores the past inputs' contents (the first step), when true it attends to them. Default: false.
    /// </summary>
    public bool UseCacheBranch { get; init; }

    /// <summary>
    /// Whether initializers larger than 1 KB go to <c>model.onnx.data</c> beside <c>model.onnx</c>
    /// (such a model must be loaded by file path). Default: true.
    /// </summary>
    public bool ExternalData { get; init; } = true;

    /// <summary>The default variant: what the silo and the benchmarks serve.</summary>
    public static DemoModelSpec Default { get; } = new();

    /// <summary>Size of one attention head (<see cref="HiddenSize"/> / <see cref="Heads"/>).</summary>
    internal int HeadSize => HiddenSize / Heads;

    /// <summary>Key/value heads per block (<see cref="KvHeads"/>, or <see cref="Heads"/> when that is 0).</summary>
    internal int KeyValueHeads => KvHeads > 0 ? KvHeads : Heads;

    /// <summary>
    /// A stable short name of this variant, used as its cache directory name. It covers every field and the
    /// builder's format version, e.g. <c>gpt2-b1-L4-d128-h4-c512-v100277-s1234-kv-f32-lf32-i64-pos-ext</c>; grouped-query
    /// attention adds <c>-kvh2</c> and a <c>use_cache_branch</c> input <c>-merged</c>.
    /// </summary>
    public string CacheKey => string.Create(CultureInfo.InvariantCulture,
        $"gpt2-b{FormatVersion}-L{Layers}-d{HiddenSize}-h{Heads}-c{ContextLength}-v{VocabSize}-s{Seed}"
        + $"-{(KvLayout == KvCacheLayout.PerLayerKeyValue ? "kv" : "past")}"
        + $"-{(KvPrecision == TensorPrecision.Float32 ? "f32" : "f16")}"
        + $"-{(LogitsPrecision == TensorPrecision.Float32 ? "lf32" : "lf16")}"
        + $"-{(IdType == TokenIdType.Int64 ? "i64" : "i32")}"
        + $"-{(PositionIdsInput ? "pos" : "nopos")}"
        + $"-{(ExternalData ? "ext" : "inline")}"
        + $"{(KeyValueHeads != Heads ? $"-kvh{KeyValueHeads}" : "")}"
        + $"{(UseCacheBranch ? "-merged" : "")}");

    /// <summary>Throws <see cref="ArgumentException"/> when the fields do not describe a buildable model.</summary>
    internal void Validate()
    {
        Positive(Layers, nameof(Layers));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(Heads, nameof(Heads));
        Positive(ContextLength, nameof(ContextLength));
        Positive(VocabSize, nameof(VocabSize));
        if (HiddenSize % Heads != 0)
        {
            throw new ArgumentException($"{nameof(HiddenSize)} ({HiddenSize}) must be a multiple of {nameof(Heads)} ({Heads}).");
        }

        if (KvHeads < 0 || Heads % KeyValueHeads != 0)
        {
            throw new ArgumentException($"{nameof(KvHeads)} ({KvHeads}) must divide {nameof(Heads)} ({Heads}), or be 0 for as many.");
        }

        if (!Enum.IsDefined(KvLayout) || !Enum.IsDefined(IdType) || !Enum.IsDefined(KvPrecision) || !Enum.IsDefined(LogitsPrecision))
        {
            throw new ArgumentException("The spec has an undefined enum value.");
        }

        static void Positive(int value, string name)
        {
            if (value <= 0)
            {
                throw new ArgumentException($"{name} must be positive (was {value}).", name);
            }
        }
    }
}
