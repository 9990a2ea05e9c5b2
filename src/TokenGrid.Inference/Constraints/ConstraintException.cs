namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A constraint on the output (a JSON schema, a pattern, a tool's parameters) that TokenGrid cannot enforce: an
/// unsupported keyword or syntax, a schema no value can satisfy, or one too large to compile within its limits. The
/// request is refused with a 400 naming <see cref="Keyword"/>; nothing is generated under a looser constraint.
/// </summary>
public sealed class ConstraintException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="keyword">The schema keyword (or pattern construct) at fault, e.g. <c>patternProperties</c>.</param>
    /// <param name="message">Why, in a sentence a tenant can act on.</param>
    /// <param name="path">Where in the schema, as a JSON pointer (<c>/properties/name</c>); empty for the root.</param>
    public ConstraintException(string keyword, string message, string path = "")
        : base(message)
    {
        Keyword = keyword;
        Path = path;
    }

    /// <summary>The schema keyword (or pattern construct) at fault.</summary>
    public string Keyword { get; }

    /// <summary>Where in the schema, as a JSON pointer; empty for the root.</summary>
    public string Path { get; }
}
