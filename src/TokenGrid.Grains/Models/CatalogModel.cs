using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Models;

/// <summary>
/// A served model as the API and the nodes see it: its name, limits, tokenizer and memory footprint. Metadata only:
/// no session stays open for it (each node loads its own when it needs the model). Thread-safe.
/// </summary>
/// <remarks>
/// The HTTP layer tokenizes with <see cref="Tokenizer"/> (<see cref="ModelTokenizer.Encode"/>), renders chat
/// messages with <see cref="Chat"/> (adding its <see cref="ModelChatFormat.StopSequences"/> to the job's stops), and
/// caps <c>max_tokens</c> with <see cref="MaxCompletionTokens"/>.
/// </remarks>
public sealed class CatalogModel
{
    internal CatalogModel(string name, DecoderModel model)
    {
        Name = name;
        Config = model.Config;
        Tokenizer = model.Tokenizer;
        Chat = ModelChatFormat.Load(model.Config.Directory, model.Tokenizer);
        KvElementBytes = model.Signature.KvType == TensorElementType.Float16 ? 2 : 4;
        WeightBytes = ModelMemory.WeightBytes(model.Config.ModelPath);
        KvBytesPerSequence = ModelMemory.KvBytesPerSequence(model.Config, KvElementBytes);
    }

    /// <summary>The name clients ask for.</summary>
    public string Name { get; }

    /// <summary>The model directory.</summary>
    public string Directory => Config.Directory;

    /// <summary>What the model is: <see cref="DecoderModelConfig.ContextLength"/>, <see cref="DecoderModelConfig.VocabSize"/>, end-of-sequence ids.</summary>
    public DecoderModelConfig Config { get; }

    /// <summary>Maximum prompt plus generated tokens.</summary>
    public int ContextLength => Config.ContextLength;

    /// <summary>The model's tokenizer (thread-safe), with its chat template.</summary>
    public ModelTokenizer Tokenizer { get; }

    /// <summary>How chat messages become this model's prompt: its own chat template, or a built-in fallback.</summary>
    public ModelChatFormat Chat { get; }

    /// <summary>Bytes of one key/value cache element (2 for float16, 4 for float32).</summary>
    public int KvElementBytes { get; }

    /// <summary>Bytes of the decoder file and its external weights on disk.</summary>
    public long WeightBytes { get; }

    /// <summary>Bytes of one sequence's key/value cache at full context (see <see cref="ModelMemory.KvBytesPerSequence"/>).</summary>
    public long KvBytesPerSequence { get; }

    /// <summary>
    /// The most tokens a job with <paramref name="promptTokens"/> prompt tokens can generate:
    /// <c>ContextLength − promptTokens</c>, or 0 when the prompt leaves no room (reject such a request).
    /// </summary>
    public int MaxCompletionTokens(int promptTokens) => Math.Max(0, ContextLength - promptTokens);

    /// <summary>The memory a node spends on this model with engines of <paramref name="maxBatchSize"/> (see <see cref="ModelMemory.Estimate"/>).</summary>
    public long EstimatedBytes(int maxBatchSize) => ModelMemory.Estimate(WeightBytes, KvBytesPerSequence, maxBatchSize);
}
