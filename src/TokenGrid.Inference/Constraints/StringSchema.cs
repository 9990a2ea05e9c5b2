using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>Compiles a string schema: <c>minLength</c>, <c>maxLength</c>.</summary>
internal static class StringSchema
{
    /// <summary>The node for a schema of type string.</summary>
    public static SchemaNode Compile(JsonSchemaCompiler compiler, JsonElement schema, string pointer)
    {
        var min = JsonSchemaCompiler.Count(schema, "minLength", pointer) ?? 0;
        var max = JsonSchemaCompiler.Count(schema, "maxLength", pointer) ?? int.MaxValue;
        foreach (var keyword in (string[])["pattern", "format"])
        {
            if (schema.TryGetProperty(keyword, out _))
            {
                throw new ConstraintException(keyword, $"The keyword '{keyword}' is not supported in structured outputs yet.", pointer);
            }
        }

        return compiler.Add(new StringNode(min, max));
    }
}
