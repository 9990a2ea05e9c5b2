using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Turns one named schema of an OpenAPI document (Swagger 2, OpenAPI 3.0 or 3.1) into a standalone JSON Schema
/// (draft 2020-12): references to the document's schemas point into <c>$defs</c>, which holds every schema reachable
/// from the root and no other, and OpenAPI's dialect becomes JSON Schema's.
/// </summary>
internal static class OpenApiSchemas
{
    /// <summary>The meta-schema every corpus schema declares.</summary>
    public const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";

    private static readonly HashSet<string> Dropped = ["discriminator", "xml", "example", "externalDocs"];

    /// <summary>The schemas of <paramref name="document"/> by name, and the reference prefix that points at them.</summary>
    public static (JsonObject Schemas, string Prefix) Components(JsonObject document) =>
        document["swagger"] is not null
            ? (document["definitions"] as JsonObject ?? [], "#/definitions/")
            : (document["components"]?["schemas"] as JsonObject ?? [], "#/components/schemas/");

    /// <summary>The standalone schema for <paramref name="name"/>; throws when it refers outside the document's schemas.</summary>
    public static JsonObject Standalone(JsonObject document, string name)
    {
        var (schemas, prefix) = Components(document);
        var openApi30 = document["openapi"]?.GetValue<string>().StartsWith("3.0", StringComparison.Ordinal) == true
            || document["swagger"] is not null;
        var pending = new Queue<string>([name]);
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var converted = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var next))
        {
            if (converted.ContainsKey(next))
            {
                continue;
            }

            if (!schemas.TryGetPropertyValue(next, out var source))
            {
                throw new InvalidDataException($"No schema '{next}' in the document (referred to from '{name}').");
            }

            converted[next] = SchemaTree.Map(source, s => Convert(s, prefix, openApi30, reached =>
            {
                referenced.Add(reached);
                pending.Enqueue(reached);
            }));
        }

        var result = new JsonObject { ["$schema"] = Draft202012 };
        var root = converted[name] as JsonObject ?? new JsonObject { ["allOf"] = new JsonArray(converted[name]?.DeepClone()) };
        foreach (var (key, value) in root)
        {
            result[key] = value?.DeepClone();
        }

        if (referenced.Count > 0)
        {
            if (result.ContainsKey("$defs"))
            {
                throw new InvalidDataException($"'{name}' has $defs of its own.");
            }

            // A root that refers to itself finds its copy under $defs, like every other schema it reaches.
            result["$defs"] = new JsonObject(converted.Where(p => referenced.Contains(p.Key))
                .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        }

        return result;
    }

    private static JsonNode Convert(JsonObject schema, string prefix, bool openApi30, Action<string> reached)
    {
        foreach (var keyword in schema.Select(p => p.Key).Where(k => k.StartsWith("x-", StringComparison.Ordinal) || Dropped.Contains(k)).ToList())
        {
            schema.Remove(keyword);
        }

        if (schema["$ref"] is JsonValue reference)
        {
            var target = reference.GetValue<string>();
            if (!target.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"Reference '{target}' points outside the document's schemas.");
            }

            reached(DefinitionName(target[prefix.Length..]));
            schema["$ref"] = "#/$defs/" + target[prefix.Length..];
        }

        if (!openApi30)
        {
            return schema;
        }

        Exclusive(schema, "exclusiveMaximum", "maximum");
        Exclusive(schema, "exclusiveMinimum", "minimum");
        if (schema["type"] is JsonValue { } type && type.GetValue<string>() == "file")
        {
            schema["type"] = "string";
        }

        var nullable = schema["nullable"] is JsonValue flag && flag.GetValue<bool>();
        schema.Remove("nullable");
        return nullable ? Nullable(schema) : schema;
    }

    /// <summary>OpenAPI 3.0 (like draft 4) says "exclusive" with a boolean beside the bound; 2020-12 gives the bound itself.</summary>
    internal static void Exclusive(JsonObject schema, string exclusive, string bound)
    {
        if (schema[exclusive] is JsonValue value && value.TryGetValue<bool>(out var isExclusive))
        {
            schema.Remove(exclusive);
            if (isExclusive && schema[bound] is { } limit)
            {
                schema.Remove(bound);
                schema[exclusive] = limit;
            }
        }
    }

    private static JsonNode Nullable(JsonObject schema)
    {
        if (schema["enum"] is JsonArray values && !values.Any(v => v is null))
        {
            values.Add(null);
        }

        if (schema["type"] is JsonValue type)
        {
            schema["type"] = new JsonArray(type.GetValue<string>(), "null");
            return schema;
        }

        if (schema["enum"] is JsonArray)
        {
            return schema;
        }

        return new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) };
    }

    /// <summary>The schema name a reference's path starts with (a JSON pointer token, percent-decoded).</summary>
    public static string DefinitionName(string path)
    {
        var token = path.Split('/')[0];
        return Uri.UnescapeDataString(token).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
    }
}
