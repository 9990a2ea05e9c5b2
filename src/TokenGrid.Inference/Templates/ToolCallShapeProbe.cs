using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Finds how a chat template wants an assistant's tool call (see <see cref="ChatPromptOptions.ForToolCalls"/>) by
/// rendering one probe conversation in each shape and looking for the call's arguments in the prompt. Templates
/// disagree and say so only in their source: DeepSeek V3 writes the call only when content is null and concatenates
/// the arguments string; Qwen 3 fails on null content; Llama 3.x and Mistral print the arguments object with
/// <c>tojson</c>. Rendering is cheaper and surer than reading the source.
/// </summary>
internal static class ToolCallShapeProbe
{
    // The value the probe's arguments carry: found in the prompt only where the template wrote the arguments.
    private const string Marker = "tokengrid-probe-7b3e";

    // In order of preference: transformers' documented shape first, the one TokenGrid used before last.
    private static readonly (bool EmptyContent, bool ParseArguments)[] Shapes = [(false, true), (false, false), (true, true), (true, false)];

    public static ChatPromptOptions Choose(ChatTemplateSet templates, TimeProvider? clock)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var rendered = Shapes.Select(shape => (Shape: shape, Prompt: TryRender(templates, clock, shape))).ToList();
        var chosen = rendered.Where(r => r.Prompt?.Contains(Marker, StringComparison.Ordinal) == true)
            .Concat(rendered.Where(r => r.Prompt is not null))
            .Select(r => r.Shape)
            .DefaultIfEmpty((EmptyContent: true, ParseArguments: true))
            .First();
        return new ChatPromptOptions { EmptyToolCallContent = chosen.EmptyContent, ParseToolCallArguments = chosen.ParseArguments };
    }

    private static string? TryRender(ChatTemplateSet templates, TimeProvider? clock, (bool EmptyContent, bool ParseArguments) shape)
    {
        var options = new ChatPromptOptions { EmptyToolCallContent = shape.EmptyContent, ParseToolCallArguments = shape.ParseArguments };
        try
        {
            return new ChatPromptRenderer(templates, options, clock).Render(Conversation(), [Tool()], addGenerationPrompt: true);
        }
        catch (Exception e) when (e is TemplateException or InvalidOperationException)
        {
            return null;
        }
    }

    // A user's question, the assistant's call (content null, arguments a JSON string, as OpenAI clients send it; an id
    // of 9 letters and digits, which Mistral's templates require) and the tool's answer.
    private static List<JsonNode> Conversation() =>
    [
        new JsonObject { ["role"] = "user", ["content"] = "Probe?" },
        new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "probe0001",
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "probe", ["arguments"] = $"{{\"value\": \"{Marker}\"}}" },
            }),
        },
        new JsonObject { ["role"] = "tool", ["tool_call_id"] = "probe0001", ["content"] = "done" },
    ];

    private static JsonObject Tool() => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject
        {
            ["name"] = "probe",
            ["description"] = "A probe.",
            ["parameters"] = JsonNode.Parse("""{"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}"""),
        },
    };
}
