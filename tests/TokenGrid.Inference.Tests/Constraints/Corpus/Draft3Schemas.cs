using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>
/// Draft 3 test groups of the JSON Schema Test Suite in draft 4 terms, for <see cref="TestSuiteSchemas"/> to take on
/// to 2020-12: a property's <c>required: true</c> joins its parent's <c>required</c> list, <c>divisibleBy</c> is
/// <c>multipleOf</c>, <c>extends</c> is <c>allOf</c>, <c>disallow</c> of type names is <c>not</c> of those types,
/// type <c>any</c> is no type, a dependency on one property is a list of one, and the formats draft 4 renamed take
/// their new names. What has no counterpart (types that are schemas, <c>disallow</c> of schemas, the <c>time</c>,
/// <c>color</c> and other formats 2020-12 dropped) is refused.
/// </summary>
internal static class Draft3Schemas
{
    private static readonly Dictionary<string, string> Formats = new(StringComparer.Ordinal)
    {
        ["ip-address"] = "ipv4", ["host-name"] = "hostname", ["date-time"] = "date-time", ["date"] = "date",
        ["uri"] = "uri", ["email"] = "email", ["ipv6"] = "ipv6", ["regex"] = "regex",
    };

    /// <summary>The draft 4 form of a draft 3 schema; throws when its meaning does not carry over.</summary>
    public static JsonNode? ToDraft4(JsonNode? schema, string identifier)
    {
        var converted = SchemaTree.Map(schema, s => Convert(s, identifier));

        // required: true anywhere but under properties (the root, items, ...) requires nothing.
        foreach (var node in SchemaTree.Objects(converted).Where(o => o["required"] is JsonValue).ToList())
        {
            node.Remove("required");
        }

        return converted;
    }

    private static JsonObject Convert(JsonObject schema, string identifier)
    {
        // A property's own required flag is left for its parent (visited after it) to collect.
        if (schema["properties"] is JsonObject properties)
        {
            var required = properties
                .Where(p => p.Value is JsonObject property && property["required"] is JsonValue flag && flag.GetValue<bool>())
                .Select(p => p.Key).ToList();
            foreach (var property in properties.Select(p => p.Value).OfType<JsonObject>())
            {
                property.Remove("required");
            }

            if (required.Count > 0)
            {
                schema["required"] = new JsonArray([.. required.Select(r => JsonValue.Create(r))]);
            }
        }

        Rename(schema, "divisibleBy", "multipleOf");
        if (schema["type"] is { } type && TypeNames(type, identifier) is var types)
        {
            schema.Remove("type");
            if (!types.Contains("any"))
            {
                schema["type"] = types.Count == 1 ? types[0] : new JsonArray([.. types.Select(t => JsonValue.Create(t))]);
            }
        }

        if (schema["disallow"] is { } disallow)
        {
            schema.Remove("disallow");
            var disallowed = TypeNames(disallow, identifier);
            schema["not"] = disallowed.Contains("any")
                ? throw new InvalidDataException($"{identifier}: disallow any.")
                : new JsonObject { ["type"] = new JsonArray([.. disallowed.Select(t => JsonValue.Create(t))]) };
        }

        if (schema["extends"] is { } extends)
        {
            schema.Remove("extends");
            schema["allOf"] = extends as JsonArray ?? new JsonArray(extends);
        }

        if (schema["dependencies"] is JsonObject dependencies)
        {
            foreach (var (name, value) in dependencies.ToList())
            {
                if (value is JsonValue single)
                {
                    dependencies[name] = new JsonArray(single.GetValue<string>());
                }
            }
        }

        if (schema["format"] is JsonValue format)
        {
            schema["format"] = Formats.TryGetValue(format.GetValue<string>(), out var renamed)
                ? renamed
                : throw new InvalidDataException($"{identifier}: format '{format}' has no 2020-12 counterpart.");
        }

        return schema;
    }

    private static List<string> TypeNames(JsonNode type, string identifier) =>
        type switch
        {
            JsonValue name => [name.GetValue<string>()],
            JsonArray names when names.All(n => n is JsonValue) => [.. names.Select(n => n!.GetValue<string>())],
            _ => throw new InvalidDataException($"{identifier}: a type that is a schema."),
        };

    private static void Rename(JsonObject schema, string from, string to)
    {
        if (schema[from] is { } value)
        {
            schema.Remove(from);
            schema[to] = value;
        }
    }
}
