using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Templates;

/// <summary>Options of <see cref="ChatPromptRenderer"/>.</summary>
public sealed record ChatPromptOptions
{
    /// <summary>
    /// Turn each tool call's <c>function.arguments</c> from the JSON string OpenAI clients send into an object, as
    /// transformers documents it ("arguments should be a dict") and templates such as Llama 3.x and Mistral expect.
    /// A string that is not a JSON object is left as it is. Off for templates that concatenate the string (DeepSeek
    /// V3), which print <c>[object Map]</c> for an object. Default: true.
    /// </summary>
    public bool ParseToolCallArguments { get; init; } = true;

    /// <summary>
    /// Give the template an empty string for the null <c>content</c> of an assistant message that only calls tools
    /// (the shape vLLM passes), instead of null (the shape OpenAI clients send and transformers passes on). On for
    /// templates that fail on null there, such as Qwen 3's <c>'&lt;/think&gt;' in message.content</c>. Default: false.
    /// </summary>
    public bool EmptyToolCallContent { get; init; }

    /// <summary>
    /// The options <paramref name="templates"/> need for tool calls as OpenAI clients send them (null content,
    /// arguments as a JSON string), found by rendering a probe conversation with one call in each shape: the first
    /// of null content with object arguments (transformers' documented shape), null content with string arguments,
    /// empty content with object arguments, empty content with string arguments that writes the call's arguments into
    /// the prompt. When no shape shows them (a template that ignores tool calls), the first that renders at all;
    /// when none renders, empty content with object arguments.
    /// </summary>
    public static ChatPromptOptions ForToolCalls(ChatTemplateSet templates, TimeProvider? clock = null) =>
        ToolCallShapeProbe.Choose(templates, clock);
}

/// <summary>
/// Renders an OpenAI-style conversation into a prompt with the model's own chat template. The template sees
/// <c>messages</c>, <c>tools</c> (only when given), <c>add_generation_prompt</c>, the special tokens the model
/// defines (<c>bos_token</c>, <c>eos_token</c>, <c>unk_token</c>, <c>pad_token</c>) and any extra variables (for
/// example <c>enable_thinking</c>). Thread-safe.
/// </summary>
public sealed class ChatPromptRenderer(ChatTemplateSet templates, ChatPromptOptions? options = null, TimeProvider? clock = null)
{
    private readonly ChatPromptOptions _options = options ?? new ChatPromptOptions();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>The templates this renderer uses.</summary>
    public ChatTemplateSet Templates { get; } = templates ?? throw new ArgumentNullException(nameof(templates));

    /// <summary>Renders <paramref name="messages"/> (each <c>{role, content, name?, tool_calls?, tool_call_id?}</c>).</summary>
    /// <param name="messages">The conversation, as in an OpenAI chat request.</param>
    /// <param name="tools">Tool definitions (<c>{"type": "function", "function": {...}}</c>), or null for none.</param>
    /// <param name="addGenerationPrompt">End with the header of the assistant's turn.</param>
    /// <param name="extraVariables">More template variables; they may not replace the ones above or a global.</param>
    /// <exception cref="TemplateRaisedException">The template refused the conversation; its message suits a 400 answer.</exception>
    /// <exception cref="TemplateException">The template failed; the exception names the line, column and construct.</exception>
    public string Render(
        IReadOnlyList<JsonNode> messages,
        IReadOnlyList<JsonNode>? tools = null,
        bool addGenerationPrompt = true,
        IReadOnlyDictionary<string, JsonNode?>? extraVariables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var template = Templates.Select(tools is { Count: > 0 });
        var conversation = messages.Select(Shape);
        var variables = new List<KeyValuePair<string, Value>>
        {
            new("messages", new ArrayValue(conversation.Select(m => JsonValues.From(m)).ToList())),
            new("add_generation_prompt", BooleanValue.Of(addGenerationPrompt)),
        };
        if (tools is not null)
        {
            variables.Add(new("tools", new ArrayValue(tools.Select(t => JsonValues.From(t)).ToList())));
        }

        var tokens = Templates.SpecialTokens;
        foreach (var (name, token) in new[] { ("bos_token", tokens.Bos), ("eos_token", tokens.Eos), ("unk_token", tokens.Unk), ("pad_token", tokens.Pad) })
        {
            if (token is not null)
            {
                variables.Add(new(name, new StringValue(token)));
            }
        }

        foreach (var (name, value) in extraVariables ?? new Dictionary<string, JsonNode?>())
        {
            if (variables.Any(v => v.Key == name))
            {
                throw new ArgumentException($"The variable '{name}' is set by the renderer.", nameof(extraVariables));
            }

            variables.Add(new(name, JsonValues.From(value)));
        }

        return template.Render(variables, _clock);
    }

    private JsonNode Shape(JsonNode message)
    {
        if (_options.EmptyToolCallContent && message is JsonObject { } o && o["tool_calls"] is JsonArray && o.TryGetPropertyValue("content", out var content)
            && (content is null || content.GetValueKind() == System.Text.Json.JsonValueKind.Null))
        {
            message = message.DeepClone();
            message["content"] = "";
        }

        return _options.ParseToolCallArguments ? ToolCallArguments.Parse(message) : message;
    }
}

/// <summary>Converts OpenAI tool calls to the shape chat templates expect.</summary>
public static class ToolCallArguments
{
    /// <summary>
    /// A copy of <paramref name="message"/> in which every <c>tool_calls[i].function.arguments</c> that is a string
    /// holding a JSON object is replaced by that object. Other messages and arguments are returned unchanged.
    /// </summary>
    public static JsonNode Parse(JsonNode message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message["tool_calls"] is not JsonArray calls || !calls.Any(c => c?["function"]?["arguments"] is JsonValue))
        {
            return message;
        }

        var copy = message.DeepClone();
        foreach (var call in copy["tool_calls"]!.AsArray())
        {
            if (call?["function"] is JsonObject function && function["arguments"] is JsonValue arguments
                && arguments.TryGetValue<string>(out var text) && TryParseObject(text) is { } parsed)
            {
                function["arguments"] = parsed;
            }
        }

        return copy;
    }

    private static JsonObject? TryParseObject(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
