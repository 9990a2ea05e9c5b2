using System.Text.Json;
using System.Text.Json.Serialization;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// The body of <c>POST /v1/responses</c> (OpenAI's Responses API), as far as TokenGrid implements it: a response is a chat
/// job whose request and reply are translated. A field not declared here is checked by <see cref="ResponseFieldPolicy"/>.
/// </summary>
public sealed record ResponseRequest
{
    /// <summary>Model name.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// A string (one user message), or a list of message items: <c>{"role", "content"}</c> (with <c>"type": "message"</c>
    /// optional), the role <c>user</c>, <c>system</c>, <c>developer</c> or <c>assistant</c>, the content a string or a
    /// list of <c>input_text</c> parts (an assistant's also <c>output_text</c> parts, as a reply is sent back).
    /// </summary>
    public JsonElement Input { get; init; }

    /// <summary>A system message put before the input.</summary>
    public string? Instructions { get; init; }

    /// <summary>Most tokens to generate; above what the context leaves after the input is a 400.</summary>
    public int? MaxOutputTokens { get; init; }

    /// <summary>Sampling temperature, 0 to 2. Default: the model's, else 1.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass, above 0 up to 1. Default: the model's, else 1.</summary>
    public float? TopP { get; init; }

    /// <summary>Stream the reply as the Responses API's typed server-sent events.</summary>
    public bool? Stream { get; init; }

    /// <summary>OpenAI's <c>user</c>: the caller's id for its end user, recorded on the job.</summary>
    public string? User { get; init; }

    /// <summary>
    /// <c>{"format": …}</c>: <c>{"type": "text"}</c> (the default), <c>{"type": "json_object"}</c>, or
    /// <c>{"type": "json_schema", "name", "schema", "strict"?, "description"?}</c>, held by constrained decoding as
    /// chat's <c>response_format</c> is.
    /// </summary>
    public JsonElement Text { get; init; }

    /// <summary>
    /// Function tools, flat: <c>{"type": "function", "name", "description"?, "parameters"?, "strict"?}</c>, as chat's
    /// <c>tools</c> (see <see cref="Serving.ToolPlan"/>). A built-in tool type is a 400 naming <c>tools[i].type</c>.
    /// </summary>
    public JsonElement Tools { get; init; }

    /// <summary><c>none</c>, <c>auto</c> (the default with tools), <c>required</c>, or <c>{"type": "function", "name"}</c>.</summary>
    public JsonElement ToolChoice { get; init; }

    /// <summary>Whether the model may make several calls in one reply. Default: true.</summary>
    public bool? ParallelToolCalls { get; init; }

    /// <summary>Extra output to include: only <c>message.output_text.logprobs</c>, the log probabilities of the text's tokens.</summary>
    public JsonElement Include { get; init; }

    /// <summary>With <c>include: ["message.output_text.logprobs"]</c>: the likeliest alternatives per token, 0 to 20. Default: 0.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>
    /// Keep the response once it ends (completed or incomplete) for 30 days, so that its output items can be sent back as
    /// <c>item_reference</c> and it can be read with <c>GET /v1/responses/{id}</c>. Default: true, as OpenAI's.
    /// </summary>
    public bool? Store { get; init; }

    /// <summary>Every top-level field not declared above; checked against <see cref="ResponseFieldPolicy"/>.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; init; }
}
