using System.Text.Json;

namespace TokenGrid.Silo.OpenAi;

/// <summary>What both completion endpoints take besides the prompt (fields TokenGrid does not use are ignored).</summary>
public abstract record GenerationRequestBody
{
    /// <summary>Model name.</summary>
    public string? Model { get; init; }

    /// <summary>Sampling temperature, 0 to 2 (0: greedy). Default: 1.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass, above 0 up to 1. Default: 1.</summary>
    public float? TopP { get; init; }

    /// <summary>Seed for reproducible sampling.</summary>
    public long? Seed { get; init; }

    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement Stop { get; init; }

    /// <summary>Number of choices; only 1 is supported.</summary>
    public int? N { get; init; }

    /// <summary>Stream the reply as server-sent events.</summary>
    public bool? Stream { get; init; }

    /// <summary>Streaming options.</summary>
    public StreamOptions? StreamOptions { get; init; }
}

/// <summary>The body of <c>POST /v1/completions</c>, as OpenAI defines it.</summary>
public sealed record CompletionRequest : GenerationRequestBody
{
    /// <summary>A string, an array holding one string, or an array of token ids.</summary>
    public JsonElement Prompt { get; init; }

    /// <summary>Most tokens to generate; capped at the model's context minus the prompt.</summary>
    public int? MaxTokens { get; init; }
}

/// <summary>The body of <c>POST /v1/chat/completions</c>.</summary>
public sealed record ChatCompletionRequest : GenerationRequestBody
{
    /// <summary>The conversation so far.</summary>
    public IReadOnlyList<ChatMessageRequest>? Messages { get; init; }

    /// <summary>Most tokens to generate (older name).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Most tokens to generate; wins over <see cref="MaxTokens"/>.</summary>
    public int? MaxCompletionTokens { get; init; }
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
}

/// <summary>OpenAI's <c>stream_options</c>.</summary>
public sealed record StreamOptions
{
    /// <summary>Send a last chunk with the usage and no choices.</summary>
    public bool? IncludeUsage { get; init; }
}
