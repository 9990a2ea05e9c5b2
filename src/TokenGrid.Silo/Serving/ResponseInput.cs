using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// The Responses API's <c>instructions</c> and <c>input</c> as chat messages for the model's chat template: the
/// instructions a system message first, a string input one user message, and each message item its role and text (text
/// parts joined with a line break, as chat's are). A model's tool calls come back as <c>function_call</c> items, which
/// become chat's assistant <c>tool_calls</c> (consecutive ones, and the assistant message just before them, one message,
/// as the reply that made them was), and their results as <c>function_call_output</c> items, which become <c>tool</c>
/// messages; an output's <c>call_id</c> must be one of the calls before it. <c>item_reference</c> items are expanded
/// to the stored items they name before this (<see cref="ResponseStore.ExpandReferencesAsync"/>). Items and parts that
/// need what TokenGrid does not serve (images, files, built-in tools' calls) are 400 <c>unsupported_parameter</c>
/// naming their <c>type</c>.
/// </summary>
internal static class ResponseInput
{
    private static readonly string[] Roles = ["user", "system", "developer", "assistant"];
    private static readonly string[] InputTextKeys = ["type", "text"];
    private static readonly string[] OutputTextKeys = ["type", "text", "annotations", "logprobs"];

    /// <summary>The conversation of a request, in chat's message shape.</summary>
    public static List<JsonNode> Messages(string? instructions, JsonElement input)
    {
        var messages = new List<JsonNode>();
        if (instructions is not null)
        {
            messages.Add(Message("system", instructions));
        }

        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                messages.Add(Message("user", input.GetString()!));
                break;
            case JsonValueKind.Array when input.GetArrayLength() > 0:
                var index = 0;
                var calls = new HashSet<string>(StringComparer.Ordinal);
                foreach (var item in input.EnumerateArray())
                {
                    var at = $"input[{index++}]";
                    switch (TypeOf(item, at))
                    {
                        case "function_call":
                            AddCall(messages, item, at, calls);
                            break;
                        case "function_call_output":
                            messages.Add(Output(item, at, calls));
                            break;
                        default:
                            messages.Add(Item(item, at));
                            break;
                    }
                }

                break;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw Problem("input is required: a string, or a list of messages.", "input");
            default:
                throw Problem("input must be a string or a non-empty list of messages.", "input");
        }

        return messages;
    }

    /// <summary>An item's <c>type</c>: <c>message</c> when absent, else one TokenGrid takes, or a 400 naming it.</summary>
    private static string TypeOf(JsonElement item, string at)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw Problem($"{at} must be a message: {{\"role\": ..., \"content\": ...}}.", at);
        }

        if (!item.TryGetProperty("type", out var type) || type.ValueKind == JsonValueKind.Null)
        {
            return "message";
        }

        var name = type.ValueKind == JsonValueKind.String ? type.GetString() : null;
        return name is "message" or "function_call" or "function_call_output"
            ? name
            : throw Unsupported($"{at}.type '{name}' is not supported: input items are messages, function_call, function_call_output and item_reference.", $"{at}.type");
    }

    /// <summary>
    /// A <c>function_call</c> item as a call in chat's <c>tool_calls</c>: added to the assistant message before it when
    /// that is one (the reply's text, or its earlier calls), else a new assistant message with no content.
    /// </summary>
    private static void AddCall(List<JsonNode> messages, JsonElement item, string at, HashSet<string> calls)
    {
        RequestFieldPolicy.CheckKeys(item, at, "type", "call_id", "name", "arguments", "id", "status");
        var callId = CallId(item, at);
        if (!item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !ResponseFormats.IsName(name.GetString()!))
        {
            throw Problem($"{at}.name must be 1 to 64 letters, digits, underscores or dashes.", $"{at}.name");
        }

        if (!item.TryGetProperty("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.String)
        {
            throw Problem($"{at}.arguments must be a string (the call's arguments as JSON text).", $"{at}.arguments");
        }

        calls.Add(callId);
        var call = new JsonObject
        {
            ["id"] = callId,
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name.GetString(), ["arguments"] = arguments.GetString() },
        };
        if (messages.Count > 0 && messages[^1] is JsonObject last && (string?)last["role"] == "assistant")
        {
            if (last["tool_calls"] is not JsonArray list)
            {
                last["tool_calls"] = list = [];
            }

            list.Add(call);
            return;
        }

        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) });
    }

    /// <summary>A <c>function_call_output</c> item as chat's <c>tool</c> message, for a call made earlier in the input.</summary>
    private static JsonObject Output(JsonElement item, string at, HashSet<string> calls)
    {
        RequestFieldPolicy.CheckKeys(item, at, "type", "call_id", "output", "id", "status");
        var callId = CallId(item, at);
        if (!calls.Contains(callId))
        {
            throw Problem($"{at}.call_id '{callId}' is not the call_id of a function_call before it in input.", $"{at}.call_id");
        }

        if (!item.TryGetProperty("output", out var output) || output.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            throw Problem($"{at}.output must be a string or a list of input_text parts.", $"{at}.output");
        }

        var text = output.ValueKind == JsonValueKind.String ? output.GetString()! : Texts(output, $"{at}.output", "user");
        return new JsonObject { ["role"] = "tool", ["tool_call_id"] = callId, ["content"] = text };
    }

    private static string CallId(JsonElement item, string at) =>
        item.TryGetProperty("call_id", out var callId) && callId.ValueKind == JsonValueKind.String && callId.GetString() is { Length: > 0 and <= 256 } id
            ? id
            : throw Problem($"{at}.call_id must be a non-empty string of at most 256 characters (the call_id of the function_call).", $"{at}.call_id");

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    private static JsonObject Item(JsonElement item, string at)
    {
        if (!item.TryGetProperty("role", out var roleValue) || roleValue.ValueKind != JsonValueKind.String || !Roles.Contains(roleValue.GetString()))
        {
            throw Problem($"{at}.role must be one of {string.Join(", ", Roles)}.", $"{at}.role");
        }

        var role = roleValue.GetString()!;
        // An assistant reply sent back as a response gave it carries its item id and status.
        if (role == "assistant")
        {
            RequestFieldPolicy.CheckKeys(item, at, "type", "role", "content", "id", "status");
        }
        else
        {
            RequestFieldPolicy.CheckKeys(item, at, "type", "role", "content");
        }

        return Message(role, Content(item, role, at));
    }

    private static string Content(JsonElement item, string role, string at)
    {
        if (!item.TryGetProperty("content", out var content) || content.ValueKind is JsonValueKind.Null)
        {
            throw Problem($"{at}.content is required.", $"{at}.content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw Problem($"{at}.content must be a string or a list of input_text parts.", $"{at}.content");
        }

        return Texts(content, $"{at}.content", role);
    }

    /// <summary>A list of text parts, joined with a line break: <c>input_text</c>, and an assistant's <c>output_text</c>.</summary>
    private static string Texts(JsonElement content, string at, string role)
    {
        var texts = new List<string>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var path = $"{at}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw Problem($"{path} must be {{\"type\": \"input_text\", \"text\": \"...\"}}.", path);
            }

            // An assistant's reply comes back in output_text parts, with the annotations and log probabilities it had.
            var kind = type.GetString();
            if (kind == "input_text" || (role == "assistant" && kind == "output_text"))
            {
                RequestFieldPolicy.CheckKeys(part, path, kind == "input_text" ? InputTextKeys : OutputTextKeys);
            }
            else
            {
                throw Unsupported($"{path}.type '{kind}' is not supported: content parts are text only ({(role == "assistant" ? "output_text" : "input_text")}).", $"{path}.type");
            }

            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                throw Problem($"{path}.text must be a string.", $"{path}.text");
            }

            texts.Add(text.GetString()!);
        }

        return string.Join('\n', texts);
    }

    private static ApiProblemException Problem(string detail, string param) => new(ApiProblems.BadRequest(detail, "invalid_value", param));

    private static ApiProblemException Unsupported(string detail, string param) => new(ApiProblems.BadRequest(detail, "unsupported_parameter", param));
}
