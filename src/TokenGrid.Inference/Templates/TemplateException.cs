namespace TokenGrid.Inference.Templates;

/// <summary>
/// A chat template could not be parsed or rendered. Every subclass says where in the template source (1-based
/// <see cref="Line"/> and <see cref="Column"/>) and which construct (<see cref="Construct"/>) failed, so that nothing
/// is ever rendered silently wrong.
/// </summary>
public abstract class TemplateException : Exception
{
    private protected TemplateException(string detail, string construct, int line, int column, Exception? inner = null)
        : base($"{detail} ({construct} at line {line}, column {column})", inner)
    {
        Detail = detail;
        Construct = construct;
        Line = line;
        Column = column;
    }

    /// <summary>What went wrong, without the position.</summary>
    public string Detail { get; }

    /// <summary>The construct that failed, such as <c>filter 'sort'</c> or <c>{% include %}</c>.</summary>
    public string Construct { get; }

    /// <summary>1-based line in the template source.</summary>
    public int Line { get; }

    /// <summary>1-based column (UTF-16 code units) in the template source.</summary>
    public int Column { get; }
}

/// <summary>The template is not valid Jinja (a lexer or parser error).</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    internal TemplateSyntaxException(string detail, string construct, SourceLocation at)
        : base(detail, construct, at.Line, at.Column)
    {
    }
}

/// <summary>
/// The template uses a Jinja feature this interpreter deliberately does not implement (for example
/// <c>{% include %}</c>, tests with arguments, or a filter @huggingface/jinja does not know).
/// </summary>
public sealed class TemplateUnsupportedException : TemplateException
{
    internal TemplateUnsupportedException(string detail, string construct, SourceLocation at)
        : base(detail, construct, at.Line, at.Column)
    {
    }
}

/// <summary>Rendering failed: a type error, an undefined operand where a value is needed, and the like.</summary>
public sealed class TemplateRuntimeException : TemplateException
{
    internal TemplateRuntimeException(string detail, string construct, SourceLocation at, Exception? inner = null)
        : base(detail, construct, at.Line, at.Column, inner)
    {
    }
}

/// <summary>
/// The template called <c>raise_exception(message)</c>: the conversation is not one this model accepts (for example
/// "Conversation roles must alternate user/assistant/user/assistant/..."). <see cref="TemplateMessage"/> is the
/// template's own text, fit to return to the client as a 400 answer.
/// </summary>
public sealed class TemplateRaisedException : TemplateException
{
    internal TemplateRaisedException(string templateMessage, SourceLocation at)
        : base(templateMessage, "raise_exception", at.Line, at.Column)
    {
        TemplateMessage = templateMessage;
    }

    /// <summary>The message the template passed to <c>raise_exception</c>, verbatim.</summary>
    public string TemplateMessage { get; }
}
