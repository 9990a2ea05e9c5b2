using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tools;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Catalog;

/// <summary>
/// A served model as the API and the nodes see it: its name, limits, tokenizer and memory footprint. Metadata only:
/// no session stays open for it (each node loads its own when it needs the model). Thread-safe.
/// </summary>
/// <remarks>
/// The HTTP layer sees only our own types here: it counts and encodes prompts with <see cref="Encode"/>, renders chat
/// messages with <see cref="RenderChat"/> (its <see cref="RenderedChat.StopSequences"/> become the job's template stops),
/// shows tokens with <see cref="Decode"/> and <see cref="TokenBytes"/>, and caps <c>max_tokens</c> with
/// <see cref="MaxCompletionTokens"/>. The Inference types behind them stay inside the grains.
/// </remarks>
public sealed class CatalogModel
{
    internal CatalogModel(string name, DecoderModel model)
    {
        Name = name;
        Config = model.Config;
        Tokenizer = model.Tokenizer;
        Chat = ModelChatFormat.Load(model.Config.Directory, model.Tokenizer);
        var defaults = model.Config.GenerationDefaults;
        SamplingDefaults = new ModelSamplingDefaults(defaults.DefaultTemperature, defaults.TopP, defaults.TopK, defaults.RepetitionPenalty, defaults.MinP);
        KvElementBytes = model.Signature.KvType == TensorElementType.Float16 ? 2 : 4;
        WeightBytes = ModelMemory.WeightBytes(model.Config.ModelPath);
        KvBytesPerSequence = ModelMemory.KvBytesPerSequence(model.Config, KvElementBytes);
        Fingerprint = ModelFingerprint.Of(model.Config.Directory, model.Config.ModelPath);
    }

    /// <summary>The name clients ask for.</summary>
    public string Name { get; }

    /// <summary>The model directory.</summary>
    public string Directory => Config.Directory;

    /// <summary>The decoder file read from <see cref="Directory"/> (full path).</summary>
    public string ModelPath => Config.ModelPath;

    /// <summary>
    /// The identity of the files served under <see cref="Name"/> (<see cref="ModelFingerprint"/>), read when the catalog was
    /// made: a job runs only on nodes whose model has the fingerprint of the one that tokenized its prompt.
    /// </summary>
    public string Fingerprint { get; }

    /// <summary>Maximum prompt plus generated tokens.</summary>
    public int ContextLength => Config.ContextLength;

    /// <summary>Rows of the embedding: every token id of the model is below it.</summary>
    public int VocabSize => Config.VocabSize;

    /// <summary>
    /// The model's beginning-of-sequence token (<c>bos_token_id</c>), from which it starts a text of its own, or null
    /// when its folder names none.
    /// </summary>
    public int? BeginningOfSequence => Config.BosTokenId;

    /// <summary>Which tokenizer the folder supplied, by name (for the admin API).</summary>
    public string TokenizerKind => Tokenizer.Kind.ToString();

    /// <summary>The model's own default sampling, for what a request leaves out.</summary>
    public ModelSamplingDefaults SamplingDefaults { get; }

    /// <summary>Bytes of one key/value cache element (2 for float16, 4 for float32).</summary>
    public int KvElementBytes { get; }

    /// <summary>Bytes of the decoder file and its external weights on disk.</summary>
    public long WeightBytes { get; }

    /// <summary>Bytes of one sequence's key/value cache at full context (see <see cref="ModelMemory.KvBytesPerSequence"/>).</summary>
    public long KvBytesPerSequence { get; }

    /// <summary>What the model is: context length, vocabulary, end-of-sequence ids. Grains only.</summary>
    internal DecoderModelConfig Config { get; }

    /// <summary>The model's tokenizer (thread-safe). Grains only.</summary>
    internal ModelTokenizer Tokenizer { get; }

    /// <summary>How chat messages become this model's prompt: its own chat template, or a built-in fallback. Grains only.</summary>
    internal ModelChatFormat Chat { get; }

    /// <summary><paramref name="text"/> as a completion prompt: its token ids, with the model's special tokens added.</summary>
    public int[] Encode(string text) => Tokenizer.Encode(text);

    /// <summary>The text of <paramref name="ids"/>, special tokens included.</summary>
    public string Decode(IEnumerable<int> ids) => Tokenizer.Decode(ids);

    /// <summary>The bytes token <paramref name="id"/> stands for (empty for an id outside the vocabulary).</summary>
    public byte[] TokenBytes(int id) => Tokenizer.TokenBytes(id);

    /// <summary>Whether token <paramref name="id"/> is a special token, which <c>skip_special_tokens</c> leaves out of the text.</summary>
    public bool IsSpecial(int id) => Tokenizer.IsSpecial(id);

    /// <summary>
    /// Whether token <paramref name="id"/> is one of the model's end-of-sequence tokens, whose text a generated output never
    /// shows (also when <c>ignore_eos</c> generates past it).
    /// </summary>
    public bool IsEndOfSequence(int id) => Config.EosTokenIds.Contains(id);

    /// <summary>
    /// Renders <paramref name="messages"/> (OpenAI chat messages) with the model's chat template, or its fallback, and
    /// asks for the assistant's next turn. The template writes the beginning-of-sequence token itself (never twice).
    /// </summary>
    /// <exception cref="ChatRenderException">The template refused the conversation (its own message) or failed on it.</exception>
    public RenderedChat RenderChat(IReadOnlyList<JsonNode> messages, IReadOnlyList<JsonNode>? tools = null)
    {
        try
        {
            return new RenderedChat(Chat.Render(messages, tools).Ids, Chat.StopSequences);
        }
        catch (ChatPromptException e)
        {
            throw new ChatRenderException(e.Message, e);
        }
    }

    /// <summary>
    /// How a call this model opens by itself is written after its opening (Hermes' <c>&lt;tool_call&gt;</c>, Mistral's
    /// <c>[TOOL_CALLS]</c>, Llama 3's <c>&lt;|python_tag|&gt;</c>), so that its arguments can be held to the function's
    /// parameters from there; null when the model's syntax has no such opening followed by JSON.
    /// </summary>
    public ToolCallShape? CallShape => Chat.ToolCalls switch
    {
        ToolCallSyntax.Hermes or ToolCallSyntax.Mistral or ToolCallSyntax.Llama3Json => new ToolCallShape(
            ToolCallFormats.Opening(Chat.ToolCalls)!,
            Chat.ToolCalls == ToolCallSyntax.Llama3Json ? "parameters" : "arguments",
            List: Chat.ToolCalls == ToolCallSyntax.Mistral),
        _ => null,
    };

    /// <summary>Whether the model has a chat template of its own, which tools are written into (the fallbacks take none).</summary>
    public bool TakesTools => Chat.IsModelTemplate;

    /// <summary>
    /// A reader of this model's output for tool calls: in the syntax its chat template uses (<paramref name="plainJson"/>:
    /// the plain JSON a constrained call is written in).
    /// </summary>
    public ToolCallReader ToolCallReader(bool plainJson) => new(plainJson ? ToolCallSyntax.PlainJson : Chat.ToolCalls, Chat.ToolCalls);

    /// <summary>
    /// Checks that <paramref name="schema"/> (a JSON schema as text) can constrain this model's output, compiling it
    /// into the cache the nodes of this process use. Null when it can; otherwise what is wrong, naming the keyword.
    /// </summary>
    public OutputSchemaProblem? CheckOutputSchema(string schema)
    {
        try
        {
            JsonGrammar.Compile(schema);
            return null;
        }
        catch (ConstraintException e)
        {
            return new OutputSchemaProblem(e.Keyword, e.Message, e.Path);
        }
    }

    /// <summary>The schema of OpenAI's <c>{"type": "json_object"}</c>: any JSON object.</summary>
    public const string AnyObjectSchema = JsonGrammar.AnyObjectSchema;

    /// <summary>
    /// The most tokens a job with <paramref name="promptTokens"/> prompt tokens can generate:
    /// <c>ContextLength − promptTokens</c>, or 0 when the prompt leaves no room (reject such a request).
    /// </summary>
    public int MaxCompletionTokens(int promptTokens) => Math.Max(0, ContextLength - promptTokens);

    /// <summary>
    /// The memory a node spends on this model with engines of <paramref name="maxBatchSize"/> and a prefix cache of
    /// <paramref name="prefixCacheTokens"/> in blocks of <paramref name="prefixBlockTokens"/> (see <see cref="ModelMemory.Estimate"/>).
    /// </summary>
    public long EstimatedBytes(int maxBatchSize, int prefixCacheTokens, int prefixBlockTokens) =>
        ModelMemory.Estimate(WeightBytes, KvBytesPerSequence, maxBatchSize, PrefixCacheBytes(prefixCacheTokens, prefixBlockTokens));

    /// <summary>What the model reserves on a node (see <see cref="ModelMemory.Fit"/>); null when one sequence does not fit.</summary>
    public ModelFit? Fit(long budgetBytes, int maxBatchSize, int prefixCacheTokens, int prefixBlockTokens, long kvLimitBytes) =>
        ModelMemory.Fit(budgetBytes, WeightBytes, KvBytesPerSequence, maxBatchSize, PrefixCacheBytes(prefixCacheTokens, prefixBlockTokens), kvLimitBytes);

    /// <summary>Bytes of a prefix cache of <paramref name="cacheTokens"/> (see <see cref="ModelMemory.PrefixCacheBytes"/>).</summary>
    public long PrefixCacheBytes(int cacheTokens, int blockTokens) => ModelMemory.PrefixCacheBytes(Config, KvElementBytes, cacheTokens, blockTokens);
}

/// <summary>Why a JSON schema cannot constrain a model's output.</summary>
/// <param name="Keyword">The schema keyword at fault (<c>patternProperties</c>, <c>$ref</c>, <c>schema</c> for the whole).</param>
/// <param name="Message">Why, in a sentence.</param>
/// <param name="Path">Where in the schema, as a JSON pointer; empty for the root.</param>
public sealed record OutputSchemaProblem(string Keyword, string Message, string Path);

/// <summary>How a model writes a tool call after its opening.</summary>
/// <param name="Opening">The text that opens a call.</param>
/// <param name="ArgumentsKey">The key of the arguments object (<c>arguments</c>; Llama 3 writes <c>parameters</c>).</param>
/// <param name="List">Whether the calls after the opening are a JSON list (Mistral) rather than one object.</param>
public sealed record ToolCallShape(string Opening, string ArgumentsKey, bool List);
