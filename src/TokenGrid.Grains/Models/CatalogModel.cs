using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Models;

/// <summary>
/// A served model as the API and the nodes see it: its name, limits and tokenizer. Thread-safe.
/// </summary>
/// <remarks>
/// The HTTP layer tokenizes with <see cref="Tokenizer"/> (<see cref="ModelTokenizer.Encode"/>), renders chat
/// messages with <c>Tokenizer.ChatTemplate.Render</c> (adding <c>Tokenizer.ChatTemplate.StopSequences</c> to the
/// job's stops), and caps <c>max_tokens</c> with <see cref="MaxCompletionTokens"/>.
/// </remarks>
public sealed class CatalogModel
{
    internal CatalogModel(string name, DecoderModel cpuModel)
    {
        Name = name;
        CpuModel = cpuModel;
    }

    /// <summary>The name clients ask for.</summary>
    public string Name { get; }

    /// <summary>The model directory.</summary>
    public string Directory => CpuModel.Config.Directory;

    /// <summary>What the model is: <see cref="DecoderModelConfig.ContextLength"/>, <see cref="DecoderModelConfig.VocabSize"/>, end-of-sequence ids.</summary>
    public DecoderModelConfig Config => CpuModel.Config;

    /// <summary>Maximum prompt plus generated tokens.</summary>
    public int ContextLength => CpuModel.Config.ContextLength;

    /// <summary>The model's tokenizer (thread-safe), with its chat template.</summary>
    public ModelTokenizer Tokenizer => CpuModel.Tokenizer;

    /// <summary>
    /// The most tokens a job with <paramref name="promptTokens"/> prompt tokens can generate:
    /// <c>ContextLength − promptTokens</c>, or 0 when the prompt leaves no room (reject such a request).
    /// </summary>
    public int MaxCompletionTokens(int promptTokens) => Math.Max(0, ContextLength - promptTokens);

    /// <summary>The model loaded on the CPU, owned by the catalog; a node's CPU device runs it.</summary>
    internal DecoderModel CpuModel { get; }
}
