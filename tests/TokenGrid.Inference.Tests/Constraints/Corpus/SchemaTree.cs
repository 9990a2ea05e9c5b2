using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Walks a JSON schema through the keywords whose values are schemas, so that a property named "example" or "x-id"
/// inside <c>properties</c> is never mistaken for a keyword. Covers drafts 3 to 2020-12 and OpenAPI's schema objects.
/// </summary>
internal static class SchemaTree
{
    private static readonly HashSet<string> SingleSchema =
    [
        "additionalProperties", "additionalItems", "items", "not", "contains", "propertyNames", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema", "extends",
    ];

    private static readonly HashSet<string> MapOfSchemas =
        ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"];

    private static readonly HashSet<string> ArrayOfSchemas = ["allOf", "anyOf", "oneOf", "prefixItems", "items", "extends", "disallow", "type"];

    /// <summary>
    /// A copy of <paramref name="schema"/> in which every schema object, innermost first, is replaced by what
    /// <paramref name="visit"/> returns for its (already mapped) copy.
    /// </summary>
    public static JsonNode? Map(JsonNode? schema, Func<JsonObject, JsonNode> visit)
    {
        if (schema is not JsonObject source)
        {
            return schema?.DeepClone();
        }

        var copy = new JsonObject();
        foreach (var (keyword, value) in source)
        {
            copy[keyword] = value switch
            {
                JsonArray array when ArrayOfSchemas.Contains(keyword) => new JsonArray([.. array.Select(s => Map(s, visit))]),
                JsonObject map when MapOfSchemas.Contains(keyword) => new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, Map(p.Value, visit)))),
                JsonObject single when SingleSchema.Contains(keyword) => Map(single, visit),
                _ => value?.DeepClone(),
            };
        }

        return visit(copy);
    }

    /// <summary>Every schema object in <paramref name="schema"/>, itself included, outermost first.</summary>
    public static IEnumerable<JsonObject> Objects(JsonNode? schema)
    {
        if (schema is not JsonObject current)
        {
            yield break;
        }

        yield return current;
        foreach (var (keyword, value) in current)
        {
            IEnumerable<JsonNode?> children = value switch
            {
                JsonArray array when ArrayOfSchemas.Contains(keyword) => array,
                JsonObject map when MapOfSchemas.Contains(keyword) => map.Select(p => p.Value),
                JsonObject single when SingleSchema.Contains(keyword) => [single],
                _ => [],
            };
            foreach (var child in children.SelectMany(Objects))
            {
                yield return child;
            }
        }
    }
}
