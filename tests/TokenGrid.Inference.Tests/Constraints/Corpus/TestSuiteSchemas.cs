using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Tests.Constraints.Corpus;

/// <summary>One test of a JSON Schema Test Suite group: the data, and whether the suite calls it valid.</summary>
public sealed record SuiteCase(string Description, JsonNode? Data, bool Valid);

/// <summary>
/// The JSON Schema Test Suite as the json-schema-test-suite package ships it: draft 3 and draft 4 test groups (a
/// schema with data the suite calls valid or invalid; draft 3 is first taken to draft 4 by <see cref="Draft3Schemas"/>),
/// since the package has no later drafts. A group whose meaning carries over to draft 2020-12 becomes a 2020-12
/// schema: <c>definitions</c> are <c>$defs</c>, boolean <c>exclusiveMaximum</c>/<c>exclusiveMinimum</c> give the
/// bound itself, array <c>items</c> are <c>prefixItems</c> (with <c>additionalItems</c> as <c>items</c>), and
/// <c>dependencies</c> split into <c>dependentRequired</c> and <c>dependentSchemas</c>. A group whose meaning does not
/// carry over (remote or scoped references, <c>id</c>, keywords beside <c>$ref</c>, which draft 4 ignores) is refused.
/// </summary>
internal static class TestSuiteSchemas
{
    /// <summary>Files whose verdicts differ in 2020-12 or that need remote documents.</summary>
    public static readonly IReadOnlySet<string> Excluded = new HashSet<string>(StringComparer.Ordinal)
    {
        "tests/draft3/refRemote.json",
        "tests/draft4/refRemote.json",
        "tests/draft3/optional/zeroTerminatedFloats.json", // drafts 3 and 4 say 1.0 is not an integer; 2020-12 says it is
        "tests/draft4/optional/zeroTerminatedFloats.json",
    };

    /// <summary>The group's schema in draft 2020-12; throws when its meaning does not carry over.</summary>
    public static JsonObject Schema(JsonObject group, string identifier)
    {
        var schema = identifier.Contains(":tests/draft3/", StringComparison.Ordinal)
            ? Draft3Schemas.ToDraft4(group["schema"], identifier)
            : group["schema"];
        var converted = SchemaTree.Map(schema, s => Convert(s, identifier));
        var result = new JsonObject { ["$schema"] = OpenApiSchemas.Draft202012 };
        foreach (var (key, value) in converted as JsonObject ?? throw new InvalidDataException($"{identifier}: not an object schema."))
        {
            result[key] = value?.DeepClone();
        }

        return result;
    }

    /// <summary>
    /// Tests whose verdict changed since drafts 3 and 4, by group and description, with today's verdict (the current
    /// suite's).
    /// </summary>
    private static readonly Dictionary<(string Group, string Description), bool> Changed = new()
    {
        // Since draft 6 "uri" means an absolute URI; a reference without a scheme is a "uri-reference".
        [("tests/draft3/optional/format.json#4", "a valid protocol-relative URI")] = false,
        [("tests/draft4/optional/format.json#1", "a valid protocol-relative URI")] = false,

        // ECMA-262 has had lookbehind since ES2018.
        [("tests/draft3/optional/jsregex.json#0", "ECMA 262 has no support for lookbehind")] = true,
    };

    /// <summary>The group's tests, with their draft 2020-12 verdicts.</summary>
    public static IReadOnlyList<SuiteCase> Cases(JsonObject group, string identifier) =>
        [.. group["tests"]!.AsArray().Select(t =>
        {
            var description = t!["description"]!.GetValue<string>();
            var valid = Changed.TryGetValue((identifier["test-suite:".Length..], description), out var now) ? now : t["valid"]!.GetValue<bool>();
            return new SuiteCase(description, t["data"]?.DeepClone(), valid);
        })];

    private static JsonObject Convert(JsonObject schema, string identifier)
    {
        if (schema.ContainsKey("id") || schema.ContainsKey("$schema"))
        {
            throw new InvalidDataException($"{identifier}: 'id' or '$schema' changes the resolution scope.");
        }

        if (schema["$ref"] is JsonValue reference)
        {
            var target = reference.GetValue<string>();
            // Draft 4 ignores what stands beside $ref; 2020-12 applies it. Definitions beside it mean the same in both.
            if (schema.Any(p => p.Key is not ("$ref" or "definitions")) || !target.StartsWith('#'))
            {
                throw new InvalidDataException($"{identifier}: '$ref' to '{target}' with siblings or outside the document.");
            }

            schema["$ref"] = target.StartsWith("#/definitions/", StringComparison.Ordinal)
                ? "#/$defs/" + target["#/definitions/".Length..]
                : target;
        }

        Rename(schema, "definitions", "$defs");
        if (schema["items"] is JsonArray { Count: 0 })
        {
            // An empty tuple constrains nothing, and 2020-12 wants prefixItems to hold at least one schema.
            schema.Remove("items");
            Rename(schema, "additionalItems", "items");
        }
        else if (schema["items"] is JsonArray)
        {
            Rename(schema, "items", "prefixItems");
            Rename(schema, "additionalItems", "items");
        }
        else
        {
            schema.Remove("additionalItems");
        }

        OpenApiSchemas.Exclusive(schema, "exclusiveMaximum", "maximum");
        OpenApiSchemas.Exclusive(schema, "exclusiveMinimum", "minimum");
        if (schema["dependencies"] is JsonObject dependencies)
        {
            schema.Remove("dependencies");
            var required = dependencies.Where(p => p.Value is JsonArray).ToList();
            var schemas = dependencies.Where(p => p.Value is not JsonArray).ToList();
            if (required.Count > 0)
            {
                schema["dependentRequired"] = new JsonObject(required.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
            }

            if (schemas.Count > 0)
            {
                schema["dependentSchemas"] = new JsonObject(schemas.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
            }
        }

        return schema;
    }

    private static void Rename(JsonObject schema, string from, string to)
    {
        if (schema[from] is { } value)
        {
            schema.Remove(from);
            schema[to] = value;
        }
    }
}
