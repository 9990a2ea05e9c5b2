using System.Text.Json;
using System.Text.Json.Serialization;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// OpenAI's <c>response</c> object, whole or as a stream's lifecycle events carry it. The fields TokenGrid does not
/// implement have the values that mean "not used" (no reasoning, truncation disabled).
/// </summary>
public sealed record ResponseObject(string Id, long CreatedAt, string Status, string Model, IReadOnlyList<ResponseOutputItem> Output, ResponseUsage? Usage)
{
    /// <summary>Always <c>response</c>.</summary>
    public string Object => "response";

    /// <summary>Why a failed response failed; null otherwise.</summary>
    public ResponseError? Error { get; init; }

    /// <summary>Why an incomplete response stopped (<c>max_output_tokens</c>); null otherwise.</summary>
    public ResponseIncompleteDetails? IncompleteDetails { get; init; }

    /// <summary>The request's <c>instructions</c>.</summary>
    public string? Instructions { get; init; }

    /// <summary>The request's <c>max_output_tokens</c>.</summary>
    public int? MaxOutputTokens { get; init; }

    /// <summary>The temperature the job sampled with.</summary>
    public float Temperature { get; init; }

    /// <summary>The top-p the job sampled with.</summary>
    public float TopP { get; init; }

    /// <summary>The request's <c>text</c>: its format.</summary>
    public ResponseText Text { get; init; } = ResponseText.Plain;

    /// <summary>The request's <c>user</c>.</summary>
    public string? User { get; init; }

    /// <summary>The request's <c>metadata</c>, as given (an object of strings); an empty object without one.</summary>
    public JsonElement Metadata { get; init; } = NoMetadata;

    /// <summary>An empty object, the metadata of a request that gave none.</summary>
    public static readonly JsonElement NoMetadata = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The request's <c>parallel_tool_calls</c>; true by default.</summary>
    public bool ParallelToolCalls { get; init; } = true;

    /// <summary>Always null: responses do not continue stored ones.</summary>
    public string? PreviousResponseId => null;

    /// <summary>Always null: no reasoning.</summary>
    public object? Reasoning => null;

    /// <summary>The request's <c>store</c> (true by default): whether the response is kept for <c>GET /v1/responses/{id}</c> and <c>item_reference</c>.</summary>
    public bool Store { get; init; }

    /// <summary>Always false: no background responses.</summary>
    public bool Background => false;

    /// <summary>The request's <c>tool_choice</c>, as given; <c>auto</c> by default.</summary>
    public JsonElement ToolChoice { get; init; } = AutoChoice;

    /// <summary>The request's <c>tools</c>, as given; empty by default.</summary>
    public JsonElement Tools { get; init; } = NoTools;

    /// <summary>The request's <c>top_logprobs</c>; 0 by default.</summary>
    public int TopLogprobs { get; init; }

    /// <summary><c>"auto"</c>, the choice of a request that gave none.</summary>
    public static readonly JsonElement AutoChoice = JsonDocument.Parse("\"auto\"").RootElement.Clone();

    /// <summary>An empty list, the tools of a request that gave none.</summary>
    public static readonly JsonElement NoTools = JsonDocument.Parse("[]").RootElement.Clone();

    /// <summary>Always <c>disabled</c>: a conversation over the context is refused, never cut.</summary>
    public string Truncation => "disabled";
}

/// <summary>The answer of <c>DELETE /v1/responses/{id}</c>.</summary>
public sealed record ResponseDeleted(string Id)
{
    /// <summary>Always <c>response.deleted</c>.</summary>
    public string Object => "response.deleted";

    /// <summary>Always true.</summary>
    public bool Deleted => true;
}

/// <summary>The <c>text</c> settings a response echoes: its format as the request gave it, <c>{"type": "text"}</c> by default.</summary>
public sealed record ResponseText(JsonElement Format)
{
    /// <summary>Plain text.</summary>
    public static readonly ResponseText Plain = new(JsonDocument.Parse("""{"type":"text"}""").RootElement.Clone());
}

/// <summary>An item of a response's <c>output</c>: the assistant's <see cref="ResponseMessage"/> or a <see cref="ResponseFunctionCall"/>.</summary>
[JsonDerivedType(typeof(ResponseMessage))]
[JsonDerivedType(typeof(ResponseFunctionCall))]
public abstract record ResponseOutputItem;

/// <summary>An output item of <c>type: "message"</c>: the assistant's reply, whose one <c>output_text</c> part holds the text.</summary>
public sealed record ResponseMessage(string Id, string Status, IReadOnlyList<ResponseOutputText> Content) : ResponseOutputItem
{
    /// <summary>Always <c>message</c>.</summary>
    public string Type => "message";

    /// <summary>Always <c>assistant</c>.</summary>
    public string Role => "assistant";
}

/// <summary>
/// An output item of <c>type: "function_call"</c>: a call the model made, for the caller to run and answer with a
/// <c>function_call_output</c> item of the same <c>call_id</c>.
/// </summary>
public sealed record ResponseFunctionCall(string Id, string CallId, string Name, string Arguments, string Status) : ResponseOutputItem
{
    /// <summary>Always <c>function_call</c>.</summary>
    public string Type => "function_call";
}

/// <summary>An <c>output_text</c> content part.</summary>
public sealed record ResponseOutputText(string Text)
{
    /// <summary>Always <c>output_text</c>.</summary>
    public string Type => "output_text";

    /// <summary>Always empty.</summary>
    public IReadOnlyList<object> Annotations => [];

    /// <summary>The text's tokens with their log probabilities (<c>include: ["message.output_text.logprobs"]</c>); empty otherwise.</summary>
    public IReadOnlyList<ChatTokenLogprob> Logprobs { get; init; } = [];
}

/// <summary>A token's log probability as a stream's text events carry it: no bytes, alternatives as token and log probability.</summary>
public sealed record ResponseDeltaLogprob(string Token, float? Logprob, IReadOnlyList<ResponseDeltaTopLogprob> TopLogprobs)
{
    /// <summary>The event's shape of a token of chat's log probabilities.</summary>
    public static ResponseDeltaLogprob Of(ChatTokenLogprob token) =>
        new(token.Token, token.Logprob, [.. token.TopLogprobs.Select(top => new ResponseDeltaTopLogprob(top.Token, top.Logprob))]);
}

/// <summary>One alternative of a <see cref="ResponseDeltaLogprob"/>.</summary>
public sealed record ResponseDeltaTopLogprob(string Token, float? Logprob);

/// <summary>A failed response's error: OpenAI's <c>code</c> (ours, as the problem's) and message.</summary>
public sealed record ResponseError(string? Code, string Message);

/// <summary>Why a response is incomplete.</summary>
public sealed record ResponseIncompleteDetails(string Reason);

/// <summary>A response's token counts, as the ledger charges them.</summary>
public sealed record ResponseUsage(
    int InputTokens, ResponseInputTokensDetails InputTokensDetails, int OutputTokens, ResponseOutputTokensDetails OutputTokensDetails, int TotalTokens)
{
    /// <summary>The usage of a finished job, from chat's counts.</summary>
    public static ResponseUsage Of(Usage usage) => new(
        usage.PromptTokens,
        new ResponseInputTokensDetails(usage.PromptTokensDetails?.CachedTokens ?? 0),
        usage.CompletionTokens,
        new ResponseOutputTokensDetails(0),
        usage.TotalTokens);
}

/// <summary>Of the input tokens, those a node took from its prefix cache.</summary>
public sealed record ResponseInputTokensDetails(int CachedTokens);

/// <summary>Always no reasoning tokens.</summary>
public sealed record ResponseOutputTokensDetails(int ReasoningTokens);

/// <summary>One event of a response's stream: its <c>type</c> is also the SSE <c>event:</c> name, and <c>sequence_number</c> counts from 0.</summary>
public abstract record ResponseStreamEvent(string Type, int SequenceNumber) : INamedServerSentEvent;

/// <summary><c>response.created</c>, <c>response.in_progress</c>, <c>response.completed</c>, <c>response.incomplete</c>, <c>response.failed</c>.</summary>
public sealed record ResponseLifecycleEvent(string Type, int SequenceNumber, ResponseObject Response) : ResponseStreamEvent(Type, SequenceNumber);

/// <summary><c>response.output_item.added</c> and <c>response.output_item.done</c>.</summary>
public sealed record ResponseOutputItemEvent(string Type, int SequenceNumber, int OutputIndex, ResponseOutputItem Item) : ResponseStreamEvent(Type, SequenceNumber);

/// <summary><c>response.function_call_arguments.delta</c>: a piece of a call's arguments.</summary>
public sealed record ResponseFunctionCallArgumentsDeltaEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, string Delta)
    : ResponseStreamEvent(Type, SequenceNumber);

/// <summary><c>response.function_call_arguments.done</c>: a call's whole arguments.</summary>
public sealed record ResponseFunctionCallArgumentsDoneEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, string Arguments)
    : ResponseStreamEvent(Type, SequenceNumber);

/// <summary><c>response.content_part.added</c> and <c>response.content_part.done</c>.</summary>
public sealed record ResponseContentPartEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, ResponseOutputText Part)
    : ResponseStreamEvent(Type, SequenceNumber);

/// <summary><c>response.output_text.delta</c>: a piece of the text.</summary>
public sealed record ResponseTextDeltaEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Delta)
    : ResponseStreamEvent(Type, SequenceNumber)
{
    /// <summary>The tokens' log probabilities when the request included them; empty otherwise.</summary>
    public IReadOnlyList<ResponseDeltaLogprob> Logprobs { get; init; } = [];
}

/// <summary><c>response.output_text.done</c>: the whole text.</summary>
public sealed record ResponseTextDoneEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Text)
    : ResponseStreamEvent(Type, SequenceNumber)
{
    /// <summary>The tokens' log probabilities when the request included them; empty otherwise.</summary>
    public IReadOnlyList<ResponseDeltaLogprob> Logprobs { get; init; } = [];
}
