namespace TokenGrid.Inference.Models;

/// <summary>
/// What the engine needs to know about a decoder-only model, read from <c>genai_config.json</c>
/// or discovered from the ONNX session's metadata and <c>config.json</c> (see <see cref="ModelConfigReader"/>),
/// with <c>generation_config.json</c>'s end-of-sequence ids and default sampling where present.
/// </summary>
public sealed record DecoderModelConfig
{
    /// <summary>The model's name: the directory name unless configured.</summary>
    public required string Name { get; init; }

    /// <summary>The model directory.</summary>
    public required string Directory { get; init; }

    /// <summary>Full path of the decoder <c>.onnx</c> file (loaded by path so external weights resolve).</summary>
    public required string ModelPath { get; init; }

    /// <summary>The architecture as the files name it (<c>model.type</c> or <c>model_type</c>, e.g. <c>llama</c>), if they do.</summary>
    public string? ModelType { get; init; }

    /// <summary>Graph input and output names.</summary>
    public required DecoderIoNames Io { get; init; }

    /// <summary>Number of transformer layers (cache tensors come per layer).</summary>
    public int Layers { get; init; }

    /// <summary>
    /// Query (attention) heads per layer. Informational: the engine sizes the cache by <see cref="KvHeads"/>.
    /// When no file states it: hidden size / head size, else <see cref="KvHeads"/>.
    /// </summary>
    public int AttentionHeads { get; init; }

    /// <summary>Key/value heads per layer (may be fewer than attention heads under GQA).</summary>
    public int KvHeads { get; init; }

    /// <summary>Size of one head.</summary>
    public int HeadSize { get; init; }

    /// <summary>Rows of the embedding: ids at or above this cannot be fed to the model.</summary>
    public int VocabSize { get; init; }

    /// <summary>Maximum prompt plus generated tokens.</summary>
    public int ContextLength { get; init; }

    /// <summary>Token ids that end a sequence: the model's, then any more <c>generation_config.json</c> names.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>
    /// Beginning-of-sequence id, if the files state one. (onnxruntime-genai defaults it to 0; TokenGrid keeps it
    /// null, because a SentencePiece tokenizer prepends it only when the model has one.)
    /// </summary>
    public int? BosTokenId { get; init; }

    /// <summary>Id fed at padded positions (they are masked, so any valid id works). Default: 0, as in onnxruntime-genai.</summary>
    public int PadTokenId { get; init; }

    /// <summary>
    /// The model's default sampling, for requests that give no values of their own. Default:
    /// <see cref="GenerationDefaults.None"/>.
    /// </summary>
    public GenerationDefaults GenerationDefaults { get; init; } = GenerationDefaults.None;

    /// <summary>What reading the files defaulted or ignored, one note each (see <see cref="DecoderModel.LoadNotes"/>).</summary>
    public IReadOnlyList<ModelNote> Notes { get; init; } = [];
}
