using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// The Responses API's <c>instructions</c> and <c>input</c> as chat messages for the model's chat template: the
/// instructions a system message first, a string input one user message, and each message item its role and text (text
/// parts joined with a line break, as chat's are). Items and parts that need what TokenGrid does not serve (tool calls and
/// their outputs, images, files, stored items) are 400 <c>unsupported_parameter</c> naming their <c>type</c>.
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
                foreach (var item in input.EnumerateArray())
                {
                    messages.Add(Item(item, $"input[{index++}]"));
                }

                break;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw Problem("input is required: a string, or a list of messages.", "input");
            default:
                throw Problem("input must be a string or a non-empty list of messages.", "input");
        }

        return messages;
    }

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    private static JsonObject Item(JsonElement item, string at)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw Problem($"{at} must be a message: {{\"role\": ..., \"content\": ...}}.", at);
        }

        if (item.TryGetProperty("type", out var type) && type.ValueKind != JsonValueKind.Null && !(type.ValueKind == JsonValueKind.String && type.GetString() == "message"))
        {
            var name = type.ValueKind == JsonValueKind.String ? type.GetString() : null;
            throw Unsupported(
                name is "function_call" or "function_call_output"
                    ? $"{at} is a {name}: tools are not supported on the Responses API (use POST /v1/chat/completions for tool calling)."
                    : $"{at}.type '{name}' is not supported: input items are messages only.",
                $"{at}.type");
        }

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

        var texts = new List<string>();
        var index = 0;
        foreach (var part in content.EnumerateArray())
        {
            var path = $"{at}.content[{index++}]";
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
