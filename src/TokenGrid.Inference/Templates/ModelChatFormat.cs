using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Templates;

/// <summary>A chat prompt: the exact text the model reads and its token ids.</summary>
/// <param name="Text">The rendered prompt.</param>
/// <param name="Ids">Its ids, as the model's tokenizer gives them (special tokens come from the template, never twice).</param>
public sealed record ChatPrompt(string Text, int[] Ids);

/// <summary>A conversation the model's chat format cannot render, with a reason fit for the caller (a 400).</summary>
public sealed class ChatPromptException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// How one model turns chat messages into prompt ids. A model folder with a chat template (see
/// <see cref="ChatTemplateSet.Load"/>) is rendered with it, as transformers' <c>apply_chat_template</c> does, and the
/// text is tokenized without adding special tokens (the template writes the beginning-of-sequence token itself, so it
/// is never doubled). A folder without one falls back to ChatML or the plain <c>role: content</c> format
/// (<see cref="ChatTemplate"/>), tokenized as a completion prompt is; <see cref="Description"/> says which is used.
/// Thread-safe.
/// </summary>
public sealed class ModelChatFormat
{
    private readonly ModelTokenizer _tokenizer;
    private readonly ChatPromptRenderer? _renderer;
    private readonly ChatTemplate _fallback;

    private ModelChatFormat(
        ModelTokenizer tokenizer, ChatPromptRenderer? renderer, string description, IReadOnlyList<string> stops, bool developerAsSystem, Tools.ToolCallSyntax tools = Tools.ToolCallSyntax.PlainJson)
    {
        DeveloperAsSystem = developerAsSystem;
        ToolCalls = tools;
        _tokenizer = tokenizer;
        _renderer = renderer;
        _fallback = tokenizer.ChatTemplate;
        Description = description;
        StopSequences = stops;
    }

    /// <summary>Which format is used and where it came from, for logs and <c>models check</c>.</summary>
    public string Description { get; }

    /// <summary>How this model writes tool calls, as its chat template shows them (plain JSON without a template).</summary>
    public Tools.ToolCallSyntax ToolCalls { get; }

    /// <summary>True when the model's own chat template is used, false for a built-in fallback.</summary>
    public bool IsModelTemplate => _renderer is not null;

    /// <summary>
    /// Text that ends the assistant's turn besides the model's end-of-sequence ids: the template's <c>eos_token</c>, or
    /// the fallback's own markers.
    /// </summary>
    public IReadOnlyList<string> StopSequences { get; }

    /// <summary>Reads the chat format of the model in <paramref name="directory"/>.</summary>
    /// <exception cref="InvalidModelException">The folder's chat template cannot be read or parsed; the message names the file.</exception>
    public static ModelChatFormat Load(string directory, ModelTokenizer tokenizer, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ChatTemplateSet? templates;
        try
        {
            templates = ChatTemplateSet.Load(directory);
        }
        catch (Exception e) when (e is TemplateException or JsonException or InvalidDataException or InvalidOperationException or IOException)
        {
            throw new InvalidModelException($"The chat template of '{directory}' cannot be used: {e.Message.ReplaceLineEndings(" ")}", e);
        }

        if (templates is null)
        {
            var fallback = tokenizer.ChatTemplate;
            return new ModelChatFormat(tokenizer, null,
                $"built-in {fallback.Name} fallback (no chat_template in tokenizer_config.json, chat_template.jinja or chat_template.json)",
                fallback.StopSequences, developerAsSystem: true);
        }

        var stops = templates.SpecialTokens.Eos is { Length: > 0 } eos ? new[] { eos } : [];
        string? toolTemplate;
        try
        {
            toolTemplate = templates.Select(hasTools: true).Source;
        }
        catch (InvalidOperationException)
        {
            toolTemplate = null;
        }

        var options = ChatPromptOptions.ForToolCalls(templates, clock);
        return new ModelChatFormat(tokenizer, new ChatPromptRenderer(templates, options, clock),
            $"the model's chat_template from {templates.Source} (templates: {string.Join(", ", templates.Templates.Keys)}; tool calls: " +
            $"arguments as {(options.ParseToolCallArguments ? "an object" : "a JSON string")}, null content as {(options.EmptyToolCallContent ? "\"\"" : "null")})",
            stops, !templates.Templates.Values.Any(t => t.Source.Contains("developer", StringComparison.Ordinal)), Tools.ToolCallFormats.Detect(toolTemplate));
    }

    /// <summary>
    /// True when a <c>developer</c> message is rendered as a <c>system</c> one: OpenAI's developer role takes the system
    /// role's place, and a template that never names it (every published one we test against) would drop it without a
    /// word. A template that names the role (one for the harmony format of gpt-oss, which has it) gets it as it came.
    /// </summary>
    public bool DeveloperAsSystem { get; }

    /// <summary>Renders <paramref name="messages"/> (OpenAI chat messages) and asks for the assistant's next turn.</summary>
    /// <param name="messages">
    /// Each <c>{role, content, name?, tool_calls?, tool_call_id?}</c>; content is text, or null for an assistant's tool
    /// calls (passed to the template as its probe at load chose, see <see cref="ChatPromptOptions.ForToolCalls"/>).
    /// </param>
    /// <param name="tools">Tool definitions for a template that takes them, or null.</param>
    /// <exception cref="ChatPromptException">The template refused the conversation (its own message) or failed on it.</exception>
    public ChatPrompt Render(IReadOnlyList<JsonNode> messages, IReadOnlyList<JsonNode>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (_renderer is null)
        {
            if (tools is { Count: > 0 })
            {
                throw new ChatPromptException("This model has no chat template, so it cannot be given tools.");
            }

            var text = _fallback.Render([.. messages.Select(Role).Select(FallbackMessage)]);
            return new ChatPrompt(text, _tokenizer.Encode(text));
        }

        string prompt;
        try
        {
            // Ids handed out by other providers (call_…) are mapped to the shape this template accepts.
            prompt = _renderer.Render([.. messages.Select(m => Tools.ToolCallIds.ForTemplate(Role(m), ToolCalls))], tools);
        }
        catch (TemplateRaisedException e)
        {
            throw new ChatPromptException(e.TemplateMessage, e);
        }
        catch (TemplateException e)
        {
            throw new ChatPromptException($"The model's chat template cannot render these messages: {e.Message.ReplaceLineEndings(" ")}", e);
        }

        return new ChatPrompt(prompt, _tokenizer.Encode(prompt, addSpecialTokens: false));
    }

    /// <summary><paramref name="message"/>, a <c>developer</c> one as <c>system</c> where <see cref="DeveloperAsSystem"/>.</summary>
    private JsonNode Role(JsonNode message)
    {
        if (!DeveloperAsSystem || message["role"]?.GetValue<string>() != "developer")
        {
            return message;
        }

        var copy = message.DeepClone();
        copy["role"] = "system";
        return copy;
    }

    private static ChatMessage FallbackMessage(JsonNode message)
    {
        var role = message["role"]?.GetValue<string>() ?? "user";
        return message["content"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var text) => new ChatMessage(role, text),
            // Text parts joined with a line break, as vLLM joins them for templates that take text.
            JsonArray parts => new ChatMessage(role, string.Join('\n', parts.Select(p => p?["text"]?.GetValue<string>()).OfType<string>())),
            _ => new ChatMessage(role, ""),
        };
    }
}
