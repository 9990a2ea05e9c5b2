using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Templates;

/// <summary>Special tokens a chat template may print (<c>bos_token</c>, …), from <c>tokenizer_config.json</c>.</summary>
/// <param name="Bos">The beginning-of-sequence token, or null when the model has none.</param>
/// <param name="Eos">The end-of-sequence token, or null.</param>
/// <param name="Unk">The unknown token, or null.</param>
/// <param name="Pad">The padding token, or null.</param>
public sealed record ChatSpecialTokens(string? Bos, string? Eos, string? Unk, string? Pad)
{
    /// <summary>No special tokens.</summary>
    public static ChatSpecialTokens None { get; } = new(null, null, null, null);
}

/// <summary>
/// A model's own chat templates, read from its directory as transformers reads them. Order (first found wins):
/// <list type="number">
/// <item><c>chat_template.jinja</c> (the <c>default</c> template) and <c>additional_chat_templates/*.jinja</c> (named
/// templates): transformers' tokenizer loader says "independent chat template file(s) ... take priority over
/// template entries in the tokenizer config";</item>
/// <item><c>chat_template.json</c> (<c>{"chat_template": ...}</c>), the legacy processor file transformers'
/// ProcessorMixin reads when there is no <c>.jinja</c> file;</item>
/// <item><c>chat_template</c> in <c>tokenizer_config.json</c>: a string, or a list of <c>{name, template}</c>.</item>
/// </list>
/// Special tokens always come from <c>tokenizer_config.json</c> (a string or an AddedToken <c>{"content": ...}</c>).
/// </summary>
public sealed class ChatTemplateSet
{
    private const string DefaultName = "default";
    private const string ToolUseName = "tool_use";

    private ChatTemplateSet(IReadOnlyDictionary<string, JinjaTemplate> templates, string source, ChatSpecialTokens specialTokens)
    {
        Templates = templates;
        Source = source;
        SpecialTokens = specialTokens;
    }

    /// <summary>Templates by name (<c>default</c>, <c>tool_use</c>, <c>rag</c>, …).</summary>
    public IReadOnlyDictionary<string, JinjaTemplate> Templates { get; }

    /// <summary>The file the templates came from, relative to the model directory.</summary>
    public string Source { get; }

    /// <summary>The special tokens passed to every render.</summary>
    public ChatSpecialTokens SpecialTokens { get; }

    /// <summary>
    /// Reads the model's chat templates; null when the model has none (callers then fall back to
    /// <see cref="Tokenizers.ChatTemplate"/>).
    /// </summary>
    /// <exception cref="TemplateException">A template is present but cannot be parsed or is not supported.</exception>
    public static ChatTemplateSet? Load(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        var configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        var config = File.Exists(configPath) ? JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject : null;
        var tokens = config is null ? ChatSpecialTokens.None : ReadSpecialTokens(config);

        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        var jinjaPath = Path.Combine(modelDirectory, "chat_template.jinja");
        if (File.Exists(jinjaPath))
        {
            named[DefaultName] = File.ReadAllText(jinjaPath);
        }

        var extraDirectory = Path.Combine(modelDirectory, "additional_chat_templates");
        if (Directory.Exists(extraDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(extraDirectory, "*.jinja").Order(StringComparer.Ordinal))
            {
                named[Path.GetFileNameWithoutExtension(file)] = File.ReadAllText(file);
            }
        }

        if (named.Count > 0)
        {
            return Create(named, "chat_template.jinja", tokens);
        }

        var jsonPath = Path.Combine(modelDirectory, "chat_template.json");
        if (File.Exists(jsonPath) && JsonNode.Parse(File.ReadAllText(jsonPath))?["chat_template"] is { } fromJson)
        {
            return Create(ReadTemplates(fromJson), "chat_template.json", tokens);
        }

        return config?["chat_template"] is { } fromConfig ? Create(ReadTemplates(fromConfig), "tokenizer_config.json", tokens) : null;
    }

    /// <summary>
    /// The template for a request: <c>tool_use</c> when tools are given and the model has one, else <c>default</c>
    /// (or the only template there is).
    /// </summary>
    /// <exception cref="InvalidOperationException">Several named templates and none is <c>default</c>.</exception>
    public JinjaTemplate Select(bool hasTools)
    {
        if (hasTools && Templates.TryGetValue(ToolUseName, out var toolUse))
        {
            return toolUse;
        }

        if (Templates.TryGetValue(DefaultName, out var fallback))
        {
            return fallback;
        }

        return Templates.Count == 1
            ? Templates.Values.First()
            : throw new InvalidOperationException($"This model has chat templates named {string.Join(", ", Templates.Keys)} and no default.");
    }

    private static ChatTemplateSet Create(Dictionary<string, string> sources, string source, ChatSpecialTokens tokens) =>
        new(sources.ToDictionary(p => p.Key, p => JinjaTemplate.Parse(p.Value), StringComparer.Ordinal), source, tokens);

    private static Dictionary<string, string> ReadTemplates(JsonNode node)
    {
        if (node is JsonValue value && value.TryGetValue<string>(out var single))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal) { [DefaultName] = single };
        }

        if (node is JsonArray list)
        {
            return list.ToDictionary(
                t => t?["name"]?.GetValue<string>() ?? throw new InvalidDataException("A named chat template has no name."),
                t => t?["template"]?.GetValue<string>() ?? throw new InvalidDataException("A named chat template has no template."),
                StringComparer.Ordinal);
        }

        throw new InvalidDataException("chat_template must be a string or a list of {name, template}.");
    }

    private static ChatSpecialTokens ReadSpecialTokens(JsonObject config) =>
        new(Token(config["bos_token"]), Token(config["eos_token"]), Token(config["unk_token"]), Token(config["pad_token"]));

    // A token is a plain string or an AddedToken object ({"content": "...", "lstrip": ..., ...}).
    private static string? Token(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => text,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };
}
