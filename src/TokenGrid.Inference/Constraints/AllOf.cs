using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// <c>allOf</c> of object schemas, as OpenAPI documents use it to extend a base: the members' properties and required
/// names merged into one object. Members with anything else (or two different schemas for one property) are refused.
/// </summary>
internal static class AllOf
{
    private static readonly HashSet<string> s_mergeable = ["type", "properties", "required", "additionalProperties", "allOf", "$ref"];

    /// <summary>The node for <paramref name="schema"/>, whose <c>allOf</c> is <paramref name="allOf"/>.</summary>
    public static SchemaNode Merge(JsonSchemaCompiler compiler, JsonElement schema, JsonElement allOf, string pointer)
    {
        var declared = new Dictionary<string, (string Name, JsonElement Schema, string Pointer)>(StringComparer.Ordinal);
        var required = new HashSet<string>(StringComparer.Ordinal);
        Collect(compiler, schema, pointer, declared, required, depth: 0);
        return compiler.BuildObject([.. declared.Values], required, additional: null);
    }

    private static void Collect(
        JsonSchemaCompiler compiler,
        JsonElement schema,
        string pointer,
        Dictionary<string, (string, JsonElement, string)> declared,
        HashSet<string> required,
        int depth)
    {
        if (depth > 16 || schema.ValueKind != JsonValueKind.Object)
        {
            throw new ConstraintException("allOf", "allOf is supported only over object schemas (properties, required), nested at most 16 deep.", pointer);
        }

        foreach (var property in schema.EnumerateObject())
        {
            var name = property.Name;
            if (JsonSchemaCompiler.s_validation.Contains(name) && !s_mergeable.Contains(name))
            {
                throw new ConstraintException("allOf", $"allOf is supported only over object schemas; a member has '{name}'.", pointer);
            }
        }

        if (schema.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.GetString() == "object"))
        {
            throw new ConstraintException("allOf", "allOf is supported only over object schemas.", pointer);
        }

        if (schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind != JsonValueKind.True)
        {
            throw new ConstraintException("allOf", "additionalProperties inside allOf is not supported.", pointer);
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = compiler.Resolve(reference, pointer, out var at);
            Collect(compiler, target, at, declared, required, depth + 1);
        }

        if (schema.TryGetProperty("allOf", out var members))
        {
            if (members.ValueKind != JsonValueKind.Array)
            {
                throw new ConstraintException("allOf", "allOf must be an array of schemas.", pointer);
            }

            var i = 0;
            foreach (var member in members.EnumerateArray())
            {
                Collect(compiler, member, $"{pointer}/allOf/{i++}", declared, required, depth + 1);
            }
        }

        if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in properties.EnumerateObject())
            {
                var at = $"{pointer}/properties/{JsonSchemaCompiler.Escape(p.Name)}";
                if (declared.TryGetValue(p.Name, out var seen) && seen.Item3 != at && JsonSchemaCompiler.Compact(seen.Item2) != JsonSchemaCompiler.Compact(p.Value))
                {
                    throw new ConstraintException("allOf", $"The property '{p.Name}' has two different schemas in allOf.", pointer);
                }

                declared[p.Name] = (p.Name, p.Value, at);
            }
        }

        required.UnionWith(JsonSchemaCompiler.Required(schema));
    }
}
