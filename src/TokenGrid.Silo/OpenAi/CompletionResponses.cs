using System.Text.Json;
using System.Text.Json.Serialization;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// Token counts of a reply. <see cref="PromptTokensDetails"/> is set on a finished reply's usage (as OpenAI reports it)
/// and left out of the running counts of <c>continuous_usage_stats</c>, which are known before the cache's share is.
/// </summary>
public sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    /// <summary>Of the prompt tokens, those a node took from its prefix cache; null while the reply is running.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PromptTokensDetails? PromptTokensDetails { get; init; }

    /// <summary>Usage from prompt and completion counts.</summary>
    public static Usage Of(int prompt, int completion) => new(prompt, completion, prompt + completion);

    /// <summary>The usage of a finished reply: its counts and the prompt tokens taken from a prefix cache.</summary>
    public static Usage Of(int prompt, int completion, int cachedPrompt) =>
        Of(prompt, completion) with { PromptTokensDetails = new PromptTokensDetails(cachedPrompt) };

    /// <summary>
    /// A stream chunk's usage when <c>stream_options.include_usage</c> asked for a usage chunk at the end: written as
    /// <c>"usage": null</c> on every other chunk, as OpenAI sends it (<see cref="ChunkUsageConverter"/>); a chunk whose
    /// usage is null leaves the field out.
    /// </summary>
    public static readonly Usage Pending = new(0, 0, 0);
}

/// <summary>Writes <see cref="Usage.Pending"/> as JSON null and any other usage as itself.</summary>
public sealed class ChunkUsageConverter : JsonConverter<Usage>
{
    /// <inheritdoc/>
    public override Usage? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<Usage>(ref reader, options);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Usage value, JsonSerializerOptions options)
    {
        if (ReferenceEquals(value, Usage.Pending))
        {
            writer.WriteNullValue();
            return;
        }

        JsonSerializer.Serialize(writer, value, options);
    }
}

/// <summary>
/// OpenAI's <c>usage.prompt_tokens_details</c>: <see cref="CachedTokens"/> of the prompt's tokens were taken from a
/// node's prefix cache instead of being computed (see silo-config/README.md, Prefix caching).
/// </summary>
public sealed record PromptTokensDetails(int CachedTokens);

/// <summary>A text completion, whole or one streamed chunk (<c>object: "text_completion"</c>).</summary>
public sealed record TextCompletion(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<TextChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(ChunkUsageConverter))] Usage? Usage)
{
    /// <summary>Always <c>text_completion</c>.</summary>
    public string Object => "text_completion";

    /// <summary>
    /// The fingerprint of the model files the reply came from (docs/models.md, "Rolling out a model"): it changes when
    /// the model's weights, tokenizer or chat template do, so a client that pins <c>seed</c> sees when the same request
    /// may answer otherwise.
    /// </summary>
    public string? SystemFingerprint { get; init; }
}

/// <summary>One choice of a text completion; <see cref="Logprobs"/> is null unless the request asked for them.</summary>
public sealed record TextChoice(string Text, int Index, string? FinishReason, CompletionLogprobs? Logprobs = null);

/// <summary>
/// Legacy completions' log probabilities, one entry per token in each list: the token's text, its log probability, the
/// most likely alternatives (text to log probability) and where the token starts in the choice's text.
/// </summary>
public sealed record CompletionLogprobs(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<float?> TokenLogprobs,
    IReadOnlyList<IReadOnlyDictionary<string, float?>> TopLogprobs,
    IReadOnlyList<int> TextOffset);

/// <summary>A chat completion (<c>object: "chat.completion"</c>).</summary>
public sealed record ChatCompletion(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage)
{
    /// <summary>Always <c>chat.completion</c>.</summary>
    public string Object => "chat.completion";

    /// <summary>
    /// The fingerprint of the model files the reply came from (docs/models.md, "Rolling out a model"): it changes when
    /// the model's weights, tokenizer or chat template do, so a client that pins <c>seed</c> sees when the same request
    /// may answer otherwise.
    /// </summary>
    public string? SystemFingerprint { get; init; }
}

/// <summary>One choice of a chat completion; <see cref="Logprobs"/> is null unless the request asked for them.</summary>
public sealed record ChatChoice(int Index, ChatMessageResponse Message, string? FinishReason, ChatLogprobs? Logprobs = null);

/// <summary>Chat log probabilities: one entry per generated token.</summary>
public sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content)
{
    /// <summary>Never a refusal.</summary>
    public IReadOnlyList<ChatTokenLogprob>? Refusal => null;
}

/// <summary>
/// One token's log probability: its text (<c>bytes:\xNN</c> when it is part of a UTF-8 character), its bytes and its
/// most likely alternatives. A log probability the engine did not report is null.
/// </summary>
public sealed record ChatTokenLogprob(string Token, float? Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

/// <summary>One alternative of a <see cref="ChatTokenLogprob"/>.</summary>
public sealed record ChatTopLogprob(string Token, float? Logprob, IReadOnlyList<int> Bytes);

/// <summary>The assistant's message: its text (null when it only calls tools) and its tool calls, if any.</summary>
public sealed record ChatMessageResponse(
    string Role,
    string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatToolCall>? ToolCalls = null)
{
    /// <summary>Never a refusal.</summary>
    public string? Refusal => null;
}

/// <summary>One tool call of the assistant: its id (<c>call_…</c>) and the function with its arguments as JSON text.</summary>
public sealed record ChatToolCall(string Id, ChatFunctionCall Function)
{
    /// <summary>Always <c>function</c>.</summary>
    public string Type => "function";
}

/// <summary>A function called: its name and arguments (a JSON object, as text).</summary>
public sealed record ChatFunctionCall(string Name, string Arguments);

/// <summary>A streamed piece of a tool call: the first names it (id, type, name), the next carry its arguments.</summary>
public sealed record ChatToolCallDelta(
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    ChatFunctionDelta Function);

/// <summary>What a streamed piece adds to a function call.</summary>
public sealed record ChatFunctionDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments);

/// <summary>One streamed piece of a chat completion (<c>object: "chat.completion.chunk"</c>).</summary>
public sealed record ChatCompletionChunk(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(ChunkUsageConverter))] Usage? Usage)
{
    /// <summary>Always <c>chat.completion.chunk</c>.</summary>
    public string Object => "chat.completion.chunk";

    /// <summary>
    /// The fingerprint of the model files the reply came from (docs/models.md, "Rolling out a model"): it changes when
    /// the model's weights, tokenizer or chat template do, so a client that pins <c>seed</c> sees when the same request
    /// may answer otherwise.
    /// </summary>
    public string? SystemFingerprint { get; init; }
}

/// <summary>One choice of a chunk, with the log probabilities of its tokens when the request asked for them.</summary>
public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason, ChatLogprobs? Logprobs = null);

/// <summary>What a chunk adds to the message.</summary>
public sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ChatToolCallDelta>? ToolCalls = null);

/// <summary>The answer of <c>GET /v1/models</c>.</summary>
public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>One served model.</summary>
public sealed record ModelCard(string Id, long Created, string OwnedBy, int ContextLength)
{
    /// <summary>Always <c>model</c>.</summary>
    public string Object => "model";
}
