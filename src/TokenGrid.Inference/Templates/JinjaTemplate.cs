using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// A parsed Jinja chat template, rendered the way <c>@huggingface/jinja</c> 0.5.11 (the renderer transformers.js
/// uses) renders it, byte for byte, with <c>trim_blocks</c> and <c>lstrip_blocks</c> on as transformers sets them.
/// </summary>
/// <remarks>
/// Hand-rolled because no Jinja package for .NET is available to us, and because what must be matched is not Jinja
/// itself but the subset (and the quirks) of the reference renderer: a general Jinja engine would render some
/// templates differently. Anything outside that subset fails with a <see cref="TemplateException"/> that names
/// the line, column and construct; nothing is ever rendered silently wrong. Instances are immutable and thread-safe.
/// </remarks>
public sealed class JinjaTemplate
{
    private readonly List<Node> _program;
    private readonly Func<int, SourceLocation> _locate;

    private JinjaTemplate(string source, List<Node> program, Func<int, SourceLocation> locate)
    {
        Source = source;
        _program = program;
        _locate = locate;
    }

    /// <summary>The template text as given.</summary>
    public string Source { get; }

    /// <summary>Parses <paramref name="source"/>.</summary>
    /// <exception cref="TemplateSyntaxException">The template is not valid Jinja.</exception>
    /// <exception cref="TemplateUnsupportedException">The template uses a statement this interpreter does not implement.</exception>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (text, offsets) = TemplatePreprocessor.Run(source);
        SourceLocation Locate(int offset) =>
            SourceLocation.Of(source, offset < offsets.Length ? offsets[offset] : source.Length);
        var tokens = Lexer.Tokenize(text, Locate);
        var program = TemplateParser.Parse(new TokenCursor(tokens, Locate, text.Length));
        return new JinjaTemplate(source, program, Locate);
    }

    /// <summary>
    /// Renders with <paramref name="variables"/> (JSON values; a missing name is undefined). <paramref name="clock"/>
    /// feeds <c>strftime_now</c> (local time); the system clock by default.
    /// </summary>
    /// <exception cref="TemplateRaisedException">The template called <c>raise_exception</c>.</exception>
    /// <exception cref="TemplateException">Rendering failed; the exception names the line, column and construct.</exception>
    public string Render(IReadOnlyDictionary<string, JsonNode?> variables, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return Render(variables.Select(v => KeyValuePair.Create(v.Key, JsonValues.From(v.Value))), clock ?? TimeProvider.System);
    }

    internal string Render(IEnumerable<KeyValuePair<string, Value>> variables, TimeProvider clock)
    {
        var global = Globals.Create(clock);
        foreach (var (name, value) in variables)
        {
            if (global.Lookup(name) is not UndefinedValue)
            {
                throw new ArgumentException($"Variable already declared: {name}", nameof(variables));
            }

            global.Set(name, value);
        }

        try
        {
            return new Interpreter(_locate).Run(_program, global);
        }
        catch (LoopSignal)
        {
            throw new TemplateRuntimeException("break or continue outside a loop", "{% break %}", _locate(0));
        }
    }
}
