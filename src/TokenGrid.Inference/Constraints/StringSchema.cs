using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Compiles a string schema: <c>minLength</c>, <c>maxLength</c>, <c>pattern</c> (the regex subset of
/// <see cref="PatternAutomaton"/>) and <c>format</c> (the formats of <see cref="PatternAutomaton.ForFormat"/>).
/// </summary>
internal static class StringSchema
{
    /// <summary>The node for a schema of type string.</summary>
    public static SchemaNode Compile(JsonSchemaCompiler compiler, JsonElement schema, string pointer)
    {
        var min = JsonSchemaCompiler.Count(schema, "minLength", pointer) ?? 0;
        var max = JsonSchemaCompiler.Count(schema, "maxLength", pointer) ?? int.MaxValue;
        PatternAutomaton? automaton = null;
        try
        {
            if (schema.TryGetProperty("pattern", out var pattern))
            {
                automaton = PatternAutomaton.Compile(pattern.ValueKind == JsonValueKind.String
                    ? pattern.GetString()!
                    : throw new ConstraintException("pattern", "pattern must be a string."));

                // Built in full now, so a pattern too large to enforce is refused before any token is generated.
                automaton.Explore();
            }

            if (schema.TryGetProperty("format", out var format))
            {
                var known = PatternAutomaton.ForFormat(format.ValueKind == JsonValueKind.String
                    ? format.GetString()!
                    : throw new ConstraintException("format", "format must be a string."));
                automaton = automaton is null ? known : automaton.Intersect(known);
            }
        }
        catch (ConstraintException e) when (e.Path.Length == 0)
        {
            throw new ConstraintException(e.Keyword, e.Message, pointer);
        }

        return compiler.Add(new StringNode(min, max, automaton));
    }
}
