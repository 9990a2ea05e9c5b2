using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tools;

/// <summary>Turns the text of one call block into calls, or null when it is not a valid call.</summary>
internal static class ToolCallBodies
{
    private const string DeepSeekCallBegin = "<｜tool▁call▁begin｜>";
    private const string DeepSeekCallEnd = "<｜tool▁call▁end｜>";
    private const string DeepSeekSeparator = "<｜tool▁sep｜>";

    // Compact, with non-ASCII text kept as it is (as Python's json.dumps(ensure_ascii=False) in vLLM's parsers).
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A JSON call object, or (when <paramref name="allowArray"/>) a non-empty array of them. Every element must be a
    /// call, or the whole text is not one.
    /// </summary>
    public static IReadOnlyList<ParsedToolCall>? Json(string text, bool allowArray) => Guarded(() => JsonCalls(text, allowArray));

    /// <summary>
    /// The text between <c>&lt;｜tool▁calls▁begin｜&gt;</c> and <c>&lt;｜tool▁calls▁end｜&gt;</c>: one or more
    /// <c>&lt;｜tool▁call▁begin｜&gt;type&lt;｜tool▁sep｜&gt;name\n```json\n{...}\n```&lt;｜tool▁call▁end｜&gt;</c>
    /// separated by white space (vLLM's deepseek_v3 parser reads the same pattern).
    /// </summary>
    public static IReadOnlyList<ParsedToolCall>? DeepSeek(string body) => Guarded(() => DeepSeekCalls(body));

    /// <summary>One call whose name was read before its arguments (Mistral's <c>[TOOL_CALLS]name[ARGS]{...}</c>).</summary>
    public static IReadOnlyList<ParsedToolCall>? Named(string name, string argumentsText) =>
        Guarded(() => ArgumentsJson(JsonNode.Parse(argumentsText)) is { } json ? [new ParsedToolCall(name, json)] : null);

    // Invalid JSON throws JsonException; a duplicate key throws ArgumentException once the object is read.
    private static IReadOnlyList<ParsedToolCall>? Guarded(Func<IReadOnlyList<ParsedToolCall>?> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static IReadOnlyList<ParsedToolCall>? JsonCalls(string text, bool allowArray)
    {
        var node = JsonNode.Parse(text);
        if (node is JsonObject single)
        {
            return Call(single) is { } call ? [call] : null;
        }

        if (!allowArray || node is not JsonArray { Count: > 0 } array)
        {
            return null;
        }

        var calls = new List<ParsedToolCall>(array.Count);
        foreach (var element in array)
        {
            if (element is not JsonObject o || Call(o) is not { } call)
            {
                return null;
            }

            calls.Add(call);
        }

        return calls;
    }

    private static IReadOnlyList<ParsedToolCall>? DeepSeekCalls(string body)
    {
        var calls = new List<ParsedToolCall>();
        var position = 0;
        while (true)
        {
            while (position < body.Length && char.IsWhiteSpace(body[position]))
            {
                position++;
            }

            if (position == body.Length)
            {
                return calls.Count > 0 ? calls : null;
            }

            if (string.CompareOrdinal(body, position, DeepSeekCallBegin, 0, DeepSeekCallBegin.Length) != 0)
            {
                return null;
            }

            var start = position + DeepSeekCallBegin.Length;
            var end = body.IndexOf(DeepSeekCallEnd, start, StringComparison.Ordinal);
            var separator = end < 0 ? -1 : body.IndexOf(DeepSeekSeparator, start, end - start, StringComparison.Ordinal);
            if (separator < 0)
            {
                return null;
            }

            var rest = body[(separator + DeepSeekSeparator.Length)..end];
            var newline = rest.IndexOf('\n', StringComparison.Ordinal);
            if (newline <= 0)
            {
                return null;
            }

            var arguments = rest[(newline + 1)..].Trim();
            if (!arguments.StartsWith("```json", StringComparison.Ordinal) || !arguments.EndsWith("```", StringComparison.Ordinal) || arguments.Length < 10)
            {
                return null;
            }

            var name = rest[..newline].Trim();
            if (name.Length == 0 || ArgumentsJson(JsonNode.Parse(arguments[7..^3])) is not { } json)
            {
                return null;
            }

            calls.Add(new ParsedToolCall(name, json));
            position = end + DeepSeekCallEnd.Length;
        }
    }

    /// <summary>
    /// <c>{"name": "...", "arguments": {...}}</c>; <c>"parameters"</c> (Llama 3) is read as <c>"arguments"</c>, the
    /// OpenAI shape <c>{"type": "function", "function": {...}}</c> is unwrapped, arguments given as a string holding a
    /// JSON object are read as that object, and missing arguments are <c>{}</c>. Other keys (Mistral's <c>id</c>) are
    /// ignored.
    /// </summary>
    private static ParsedToolCall? Call(JsonObject call)
    {
        if (!call.ContainsKey("name") && call["function"] is JsonObject function)
        {
            call = function;
        }

        if (call["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name) || name.Length == 0)
        {
            return null;
        }

        var arguments = call.TryGetPropertyValue("arguments", out var value) ? value : call["parameters"];
        if (arguments is null)
        {
            return new ParsedToolCall(name, "{}");
        }

        if (arguments is JsonValue text && text.TryGetValue<string>(out var encoded))
        {
            arguments = JsonNode.Parse(encoded);
        }

        return ArgumentsJson(arguments) is { } json ? new ParsedToolCall(name, json) : null;
    }

    private static string? ArgumentsJson(JsonNode? arguments) => arguments is JsonObject o ? o.ToJsonString(Compact) : null;
}
