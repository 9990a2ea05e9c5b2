namespace TokenGrid.Inference.Models;

/// <summary>
/// What the engine needs to know about a decoder-only model, read from <c>genai_config.json</c>
/// or discovered from the ONNX session's metadata (see <see cref="ModelConfigReader"/>).
/// </summary>
public sealed record DecoderModelConfig
{
    /// <summary>The model's name: the directory name unless configured.</summary>
    public required string Name { get; init; }

    /// <summary>The model directory.</summary>
    public required string Directory { get; init; }

    /// <summary>Full path of the decoder <c>.onnx</c> file (loaded by path so external weights resolve).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Graph input and output names.</summary>
    public required DecoderIoNames Io { get; init; }

    /// <summary>Number of transformer layers (cache tensors come per layer).</summary>
    public int Layers { get; init; }

    /// <summary>Key/value heads per layer (may be fewer than attention heads under GQA).</summary>
    public int KvHeads { get; init; }

    /// <summary>Size of one head.</summary>
    public int HeadSize { get; init; }

    /// <summary>Rows of the embedding: ids at or above this cannot be fed to the model.</summary>
    public int VocabSize { get; init; }

    /// <summary>Maximum prompt plus generated tokens.</summary>
    public int ContextLength { get; init; }

    /// <summary>Token ids that end a sequence.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Beginning-of-sequence id, if the model has one.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>Id fed at padded positions (they are masked, so any valid id works).</summary>
    public int PadTokenId { get; init; }
}
