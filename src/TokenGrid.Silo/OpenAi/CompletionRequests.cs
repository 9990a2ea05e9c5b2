using System.Text.Json;
using System.Text.Json.Serialization;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// What both completion endpoints (and <c>/v1/jobs</c>) take besides the prompt: OpenAI's sampling fields and vLLM's
/// extensions. Every field is implemented or refused; a field that is neither declared here nor on the
/// <see cref="RequestFieldPolicy"/> allow-list is refused as unrecognized, as OpenAI does (see silo-config/README.md,
/// "Request fields").
/// </summary>
public abstract record SamplingRequestBody
{
    /// <summary>Model name.</summary>
    public string? Model { get; init; }

    /// <summary>Sampling temperature, 0 to 2 (0: greedy). Default: the model's, else 1.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass, above 0 up to 1. Default: the model's, else 1.</summary>
    public float? TopP { get; init; }

    /// <summary>vLLM's <c>top_k</c>: sample among the K likeliest tokens; −1 or 0 is off. Default: the model's, else off.</summary>
    public int? TopK { get; init; }

    /// <summary>vLLM's <c>min_p</c>, 0 to 1: drop tokens below this fraction of the likeliest one's probability. Default: 0.</summary>
    public float? MinP { get; init; }

    /// <summary>Seed for reproducible sampling.</summary>
    public long? Seed { get; init; }

    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement Stop { get; init; }

    /// <summary>OpenAI's <c>presence_penalty</c>, −2 to 2. Default: 0.</summary>
    public float? PresencePenalty { get; init; }

    /// <summary>OpenAI's <c>frequency_penalty</c>, −2 to 2. Default: 0.</summary>
    public float? FrequencyPenalty { get; init; }

    /// <summary>vLLM's <c>repetition_penalty</c>, above 0 (1 is off). Default: 1.</summary>
    public float? RepetitionPenalty { get; init; }

    /// <summary>OpenAI's <c>logit_bias</c>: token id (as a string) to a bias of −100 to 100.</summary>
    public JsonElement LogitBias { get; init; }

    /// <summary>vLLM's <c>min_tokens</c>: no end of sequence (or stop token id) before this many tokens. Default: 0.</summary>
    public int? MinTokens { get; init; }

    /// <summary>vLLM's <c>stop_token_ids</c>: token ids that end the output like the end-of-sequence token.</summary>
    public int[]? StopTokenIds { get; init; }

    /// <summary>vLLM's <c>ignore_eos</c>: keep generating past the end-of-sequence token. Default: false.</summary>
    public bool? IgnoreEos { get; init; }

    /// <summary>vLLM's <c>include_stop_str_in_output</c>: keep a matched stop sequence in the text. Default: false.</summary>
    public bool? IncludeStopStrInOutput { get; init; }

    /// <summary>
    /// vLLM's <c>skip_special_tokens</c>: special tokens (the tokenizer's added tokens marked special) are left out of
    /// the text; they still count as completion tokens and appear in log probabilities. End of sequence never shows
    /// either way. Default: false (unlike vLLM, whose default is true: TokenGrid follows OpenAI, which keeps them).
    /// </summary>
    public bool? SkipSpecialTokens { get; init; }

    /// <summary>OpenAI's <c>user</c>: the caller's id for its end user, recorded on the job.</summary>
    public string? User { get; init; }

    /// <summary>
    /// The priority class for this request, <c>low</c>, <c>standard</c> or <c>high</c>: at most the tenant's own class.
    /// Default: the tenant's.
    /// </summary>
    public JsonElement Priority { get; init; }

    /// <summary>
    /// OpenAI's structured outputs: <c>{"type": "text"}</c> (the default), <c>{"type": "json_object"}</c> (one JSON
    /// object) or <c>{"type": "json_schema", "json_schema": {"name", "schema", "strict"?, "description"?}}</c> (a value of
    /// the schema). Decoding is constrained, so the output parses and validates whether or not <c>strict</c> is set.
    /// </summary>
    public JsonElement ResponseFormat { get; init; }

    /// <summary>Every top-level field not declared above; checked against <see cref="RequestFieldPolicy"/>.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}

/// <summary>What both OpenAI completion endpoints take besides the prompt and the sampling fields.</summary>
public abstract record GenerationRequestBody : SamplingRequestBody
{
    /// <summary>Number of choices; only 1 is supported.</summary>
    public int? N { get; init; }

    /// <summary>Stream the reply as server-sent events.</summary>
    public bool? Stream { get; init; }

    /// <summary>Streaming options.</summary>
    public StreamOptions? StreamOptions { get; init; }

    /// <summary>Most tokens to generate; above what the context leaves after the prompt is a 400.</summary>
    public int? MaxTokens { get; init; }
}

/// <summary>The body of <c>POST /v1/completions</c>, as OpenAI defines it.</summary>
public sealed record CompletionRequest : GenerationRequestBody
{
    /// <summary>A string, an array holding one string, or an array of token ids.</summary>
    public JsonElement Prompt { get; init; }

    /// <summary>Legacy <c>logprobs</c>: report the sampled token's log probability and this many alternatives (0 to 20).</summary>
    public int? Logprobs { get; init; }

    /// <summary>Prepend the prompt to the output text.</summary>
    public bool? Echo { get; init; }
}

/// <summary>The body of <c>POST /v1/chat/completions</c>.</summary>
public sealed record ChatCompletionRequest : GenerationRequestBody
{
    /// <summary>The conversation so far.</summary>
    public IReadOnlyList<ChatMessageRequest>? Messages { get; init; }

    /// <summary>Most tokens to generate; wins over <see cref="GenerationRequestBody.MaxTokens"/>.</summary>
    public int? MaxCompletionTokens { get; init; }

    /// <summary>Report each output token's log probability.</summary>
    public bool? Logprobs { get; init; }

    /// <summary>With <see cref="Logprobs"/>: this many most likely alternatives per token (0 to 20).</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>Functions the model may call: <c>[{"type": "function", "function": {"name", "description"?, "parameters"?}}]</c>.</summary>
    public JsonElement Tools { get; init; }

    /// <summary><c>none</c>, <c>auto</c> (the default with tools), <c>required</c>, or <c>{"type": "function", "function": {"name"}}</c>.</summary>
    public JsonElement ToolChoice { get; init; }

    /// <summary>Whether a forced call may be several calls at once. Default: true.</summary>
    public bool? ParallelToolCalls { get; init; }
}

/// <summary>
/// One chat message: a role and its content (a string, or an array of <c>{"type":"text","text":...}</c> parts), with
/// the fields the model's chat template may use: the author's <c>name</c>, an assistant's <c>tool_calls</c> and a tool
/// result's <c>tool_call_id</c>.
/// </summary>
public sealed record ChatMessageRequest
{
    /// <summary><c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</summary>
    public string? Role { get; init; }

    /// <summary>The message text.</summary>
    public JsonElement Content { get; init; }

    /// <summary>The author's name, passed to the chat template.</summary>
    public string? Name { get; init; }

    /// <summary>An assistant's tool calls: <c>[{"id", "type": "function", "function": {"name", "arguments"}}]</c>.</summary>
    public JsonElement ToolCalls { get; init; }

    /// <summary>The tool call a <c>tool</c> message answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>Every field not declared above: refused unless null, or an assistant reply's <c>refusal</c> and <c>annotations</c>.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}

/// <summary>OpenAI's <c>stream_options</c>, with vLLM's <c>continuous_usage_stats</c>.</summary>
public sealed record StreamOptions
{
    /// <summary>Send a last chunk with the usage and no choices.</summary>
    public bool? IncludeUsage { get; init; }

    /// <summary>vLLM's: every chunk carries the usage so far.</summary>
    public bool? ContinuousUsageStats { get; init; }

    /// <summary>Every field not declared above; checked against <see cref="RequestFieldPolicy"/>.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}
