namespace TokenGrid.Inference.Tools;

/// <summary>How a model writes tool calls in its output, as its chat template teaches it.</summary>
public enum ToolCallSyntax
{
    /// <summary>
    /// The whole output is one JSON object <c>{"name": ..., "arguments": {...}}</c> or an array of them (what
    /// constrained decoding produces, and the fallback for templates that show no format of their own).
    /// </summary>
    PlainJson,

    /// <summary>
    /// Hermes style (Qwen 2.5, Qwen 3, Hermes): <c>&lt;tool_call&gt;\n{"name": ..., "arguments": {...}}\n&lt;/tool_call&gt;</c>,
    /// possibly several, possibly after content text.
    /// </summary>
    Hermes,

    /// <summary>
    /// Llama 3.x JSON tool calling: the output is <c>{"name": ..., "parameters": {...}}</c> (or <c>"arguments"</c>),
    /// optionally after <c>&lt;|python_tag|&gt;</c>; several calls are separated by <c>;</c>.
    /// </summary>
    Llama3Json,

    /// <summary>
    /// Mistral: <c>[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]</c> (Mistral Nemo's template), or the newer
    /// <c>[TOOL_CALLS]name[ARGS]{...}</c> and <c>[TOOL_CALLS]name{...}</c>, once per call; possibly after content text.
    /// </summary>
    Mistral,

    /// <summary>
    /// DeepSeek V3: <c>&lt;｜tool▁calls▁begin｜&gt;&lt;｜tool▁call▁begin｜&gt;function&lt;｜tool▁sep｜&gt;name\n```json\n{...}\n```&lt;｜tool▁call▁end｜&gt;…&lt;｜tool▁calls▁end｜&gt;</c>.
    /// </summary>
    DeepSeekV3,
}

/// <summary>Recognizes a model's tool-call syntax from its chat template and names the markers of each syntax.</summary>
public static class ToolCallFormats
{
    internal const string HermesOpening = "<tool_call>";
    internal const string HermesClosing = "</tool_call>";
    internal const string MistralOpening = "[TOOL_CALLS]";
    internal const string PythonTag = "<|python_tag|>";
    internal const string DeepSeekOpening = "<｜tool▁calls▁begin｜>";
    internal const string DeepSeekClosing = "<｜tool▁calls▁end｜>";

    /// <summary>
    /// The syntax a chat template shows the model (the text the template writes for an assistant's tool calls):
    /// <see cref="ToolCallSyntax.Hermes"/> for <c>&lt;tool_call&gt;</c>, <see cref="ToolCallSyntax.Mistral"/> for
    /// <c>[TOOL_CALLS]</c>, <see cref="ToolCallSyntax.DeepSeekV3"/> for <c>&lt;｜tool▁calls▁begin｜&gt;</c>,
    /// <see cref="ToolCallSyntax.Llama3Json"/> for a Llama 3 template (<c>&lt;|start_header_id|&gt;</c>) that asks for
    /// <c>"parameters"</c> or writes <c>&lt;|python_tag|&gt;</c>; otherwise <see cref="ToolCallSyntax.PlainJson"/>.
    /// </summary>
    /// <param name="chatTemplateSource">The template's Jinja source (null or empty gives plain JSON).</param>
    public static ToolCallSyntax Detect(string? chatTemplateSource)
    {
        var source = chatTemplateSource ?? "";
        if (source.Contains(HermesOpening, StringComparison.Ordinal))
        {
            return ToolCallSyntax.Hermes;
        }

        if (source.Contains(MistralOpening, StringComparison.Ordinal))
        {
            return ToolCallSyntax.Mistral;
        }

        if (source.Contains(DeepSeekOpening, StringComparison.Ordinal))
        {
            return ToolCallSyntax.DeepSeekV3;
        }

        var llama = source.Contains(PythonTag, StringComparison.Ordinal)
            || (source.Contains("<|start_header_id|>", StringComparison.Ordinal) && source.Contains("\"parameters\"", StringComparison.Ordinal));
        return llama ? ToolCallSyntax.Llama3Json : ToolCallSyntax.PlainJson;
    }

    /// <summary>
    /// The text that opens a call in <paramref name="syntax"/>, for example to stop a grammar or to recognize a call in
    /// a stream: <c>&lt;tool_call&gt;</c>, <c>[TOOL_CALLS]</c>, <c>&lt;|python_tag|&gt;</c> (optional in Llama 3
    /// output), <c>&lt;｜tool▁calls▁begin｜&gt;</c>; null for plain JSON, which has none.
    /// </summary>
    public static string? Opening(ToolCallSyntax syntax) => syntax switch
    {
        ToolCallSyntax.Hermes => HermesOpening,
        ToolCallSyntax.Mistral => MistralOpening,
        ToolCallSyntax.Llama3Json => PythonTag,
        ToolCallSyntax.DeepSeekV3 => DeepSeekOpening,
        ToolCallSyntax.PlainJson => null,
        _ => throw new ArgumentOutOfRangeException(nameof(syntax), syntax, "Unknown tool-call syntax."),
    };

    /// <summary>The text that closes a call block, for the syntaxes that have one.</summary>
    internal static string? Closing(ToolCallSyntax syntax) => syntax switch
    {
        ToolCallSyntax.Hermes => HermesClosing,
        ToolCallSyntax.DeepSeekV3 => DeepSeekClosing,
        _ => null,
    };
}
