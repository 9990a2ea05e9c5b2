using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>Reads the polymorphic OpenAI fields: <c>prompt</c>, <c>messages[].content</c> and <c>stop</c>.</summary>
internal static class PromptParser
{
    /// <summary>Most stop sequences a request may give (OpenAI's limit).</summary>
    public const int MaxStopSequences = 4;

    /// <summary>
    /// Most characters in one stop sequence. A job keeps its stop sequences with its record for as long as it keeps its
    /// content, so a request must not be able to store megabytes for a few tokens; a longer stop sequence would match only
    /// an output longer than most requests allow anyway.
    /// </summary>
    public const int MaxStopLength = 1000;

    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>
    /// The one prompt of a request that takes one (<c>POST /v1/jobs</c>): any form of <see cref="Prompts"/> that holds a
    /// single prompt; several are 400 naming <c>prompt</c>.
    /// </summary>
    public static (string? Text, int[]? Tokens) Prompt(JsonElement prompt) => Prompts(prompt) switch
    {
        [var single] => single,
        _ => throw Problem("Only one prompt per request is supported here; POST /v1/completions takes several.", "prompt"),
    };

    /// <summary>
    /// The prompts as text or token ids, in OpenAI's four forms: a string, a list of strings, a list of token ids (one
    /// prompt), or a list of lists of token ids. A list may not mix the forms, nor be empty, nor hold more than
    /// <see cref="GenerationPlanner.MaxChoices"/> prompts. (An empty string or token list is the planner's to serve: the model starts from its
    /// beginning-of-sequence token, or the planner refuses it naming its index.)
    /// </summary>
    public static IReadOnlyList<(string? Text, int[]? Tokens)> Prompts(JsonElement prompt)
    {
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [(prompt.GetString()!, null)];
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw Problem("prompt is required.", "prompt");
            case JsonValueKind.Array when prompt.GetArrayLength() == 0:
                throw Problem("prompt must not be an empty list.", "prompt");
            case JsonValueKind.Array when prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                return [(null, TokenIds(prompt))];
            case JsonValueKind.Array when prompt.GetArrayLength() > GenerationPlanner.MaxChoices:
                throw Problem($"prompt may hold at most {GenerationPlanner.MaxChoices} prompts.", "prompt");
            case JsonValueKind.Array when prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                return [.. prompt.EnumerateArray().Select(e => ((string?)e.GetString()!, (int[]?)null))];
            case JsonValueKind.Array when prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(id => id.ValueKind == JsonValueKind.Number)):
                return [.. prompt.EnumerateArray().Select(e => ((string?)null, (int[]?)TokenIds(e)))];
            default:
                throw Problem(
                    "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids (a list may not mix these forms).",
                    "prompt");
        }
    }

    private static int[] TokenIds(JsonElement ids)
    {
        var tokens = new int[ids.GetArrayLength()];
        var i = 0;
        foreach (var element in ids.EnumerateArray())
        {
            tokens[i++] = element.TryGetInt32(out var id) && id >= 0
                ? id
                : throw Problem("prompt token ids must be non-negative integers.", "prompt");
        }

        return tokens;
    }

    /// <summary>
    /// Chat messages for the model's chat template, as OpenAI shapes them: roles checked, text content parts joined with
    /// a line break (as vLLM joins them), the null or absent content of an assistant message that calls tools kept as
    /// null (templates such as DeepSeek V3's write the calls only then), and <c>name</c>, <c>tool_calls</c> and
    /// <c>tool_call_id</c> kept where given.
    /// </summary>
    public static List<JsonNode> Messages(IReadOnlyList<ChatMessageRequest>? messages)
    {
        if (messages is null || messages.Count == 0)
        {
            throw Problem("messages must be a non-empty array.", "messages");
        }

        var result = new List<JsonNode>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw Problem($"messages[{i}] must be an object.", "messages");
            if (message.Role is null || !Roles.Contains(message.Role, StringComparer.Ordinal))
            {
                throw Problem($"messages[{i}].role must be one of {string.Join(", ", Roles)}.", $"messages[{i}].role");
            }

            CheckFields(message, i);
            var node = new JsonObject { ["role"] = message.Role, ["content"] = Content(message.Content, i) };
            if (message.Name is { } name)
            {
                node["name"] = name;
            }

            if (ToolCalls(message.ToolCalls, i) is { } calls)
            {
                node["tool_calls"] = calls;
            }

            if (message.ToolCallId is { } callId)
            {
                node["tool_call_id"] = callId;
            }

            result.Add(node);
        }

        return result;
    }

    /// <summary>
    /// What OpenAI requires of message <paramref name="index"/> beyond its role: content (an assistant's only when it
    /// calls tools instead), a <c>tool</c> message's <c>tool_call_id</c>, and no field OpenAI does not define. An
    /// assistant's reply as the SDKs hand it back (with <c>refusal</c> and <c>annotations</c>) is taken as it is.
    /// </summary>
    private static void CheckFields(ChatMessageRequest message, int index)
    {
        var absent = message.Content.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
        var calls = message.ToolCalls.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
        if (absent && !(message.Role == "assistant" && calls))
        {
            throw Problem(
                message.Role == "assistant" ? $"messages[{index}].content is required unless the message has tool_calls." : $"messages[{index}].content is required.",
                $"messages[{index}].content");
        }

        if (message.Role == "tool" && string.IsNullOrEmpty(message.ToolCallId))
        {
            throw Problem($"messages[{index}].tool_call_id is required for a tool message.", $"messages[{index}].tool_call_id");
        }

        foreach (var (name, value) in message.OtherFields ?? [])
        {
            var param = $"messages[{index}].{name}";
            if (value.ValueKind == JsonValueKind.Null || (message.Role == "assistant" && name is "refusal" or "annotations"))
            {
                continue;
            }

            throw new ApiProblemException(name is "audio" or "function_call"
                ? ApiProblems.BadRequest($"{(name == "audio" ? "Audio" : "Function calling")} is not supported ({param}).", "unsupported_parameter", param)
                : ApiProblems.BadRequest($"Unrecognized request argument supplied: {param}", "unrecognized_argument", param));
        }
    }

    /// <summary>An assistant's tool calls: null when absent, else an array of objects each with a function name.</summary>
    private static JsonArray? ToolCalls(JsonElement calls, int index)
    {
        if (calls.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        var param = $"messages[{index}].tool_calls";
        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw Problem($"{param} must be an array.", param);
        }

        var at = 0;
        foreach (var call in calls.EnumerateArray())
        {
            RequestFieldPolicy.CheckKeys(call, $"{param}[{at}]", "id", "type", "function");
            if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var declared))
            {
                RequestFieldPolicy.CheckKeys(declared, $"{param}[{at}].function", "name", "arguments");
            }

            at++;
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                throw Problem($"{param} items must be {{\"type\": \"function\", \"function\": {{\"name\": ..., \"arguments\": ...}}}}.", param);
            }
        }

        return (JsonArray)JsonNode.Parse(calls.GetRawText())!;
    }

    /// <summary>
    /// Stop sequences: a string or an array of up to <see cref="MaxStopSequences"/> non-empty strings of up to
    /// <see cref="MaxStopLength"/> characters.
    /// </summary>
    public static string[] Stop(JsonElement stop)
    {
        string[] values = stop.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => [],
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                [.. stop.EnumerateArray().Select(e => e.GetString()!)],
            _ => throw Problem("stop must be a string or an array of strings.", "stop"),
        };
        return values.Length > MaxStopSequences ? throw Problem($"stop may hold at most {MaxStopSequences} sequences.", "stop")
            : values.Any(string.IsNullOrEmpty) ? throw Problem("stop sequences must not be empty.", "stop")
            : values.Any(v => v.Length > MaxStopLength) ? throw Problem($"stop sequences may be at most {MaxStopLength} characters long.", "stop")
            : values;
    }

    // Null only for an assistant's tool calls without text: CheckFields refused every other message without content.
    private static string? Content(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.Array:
                var texts = new List<string>();
                var at = 0;
                foreach (var part in content.EnumerateArray())
                {
                    RequestFieldPolicy.CheckKeys(part, $"messages[{index}].content[{at++}]", "type", "text");
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
                    {
                        throw Problem($"messages[{index}].content parts must be {{\"type\": \"text\", \"text\": \"...\"}}; other part types are not supported.",
                            $"messages[{index}].content");
                    }

                    texts.Add(partText.GetString()!);
                }

                return string.Join('\n', texts);
            default:
                throw Problem($"messages[{index}].content must be a string or an array of text parts.", $"messages[{index}].content");
        }
    }

    private static ApiProblemException Problem(string detail, string param) =>
        new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
