using System.Text.Json;
using System.Text.RegularExpressions;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// OpenAI's <c>response_format</c> as a JSON schema for the engine: <c>text</c> is none, <c>json_object</c> any object,
/// <c>json_schema</c> the given schema. A schema the engine cannot enforce is a 400 naming the keyword (never a looser
/// output); so is anything malformed, named by its field.
/// </summary>
internal static partial class ResponseFormats
{
    /// <summary>The schema text for the node, or null for free text.</summary>
    public static string? SchemaOf(JsonElement format, CatalogModel model)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw Problem("response_format must be an object with a type: text, json_object or json_schema.", "response_format");
        }

        switch (type.GetString())
        {
            case "text":
                RequestFieldPolicy.CheckKeys(format, "response_format", "type");
                return null;
            case "json_object":
                RequestFieldPolicy.CheckKeys(format, "response_format", "type");
                return CatalogModel.AnyObjectSchema;
            case "json_schema":
                RequestFieldPolicy.CheckKeys(format, "response_format", "type", "json_schema");
                break;
            default:
                throw Problem($"response_format.type '{type.GetString()}' is not one of text, json_object, json_schema.", "response_format.type");
        }

        if (!format.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object)
        {
            throw Problem("response_format.json_schema is required for type json_schema.", "response_format.json_schema");
        }

        RequestFieldPolicy.CheckKeys(spec, "response_format.json_schema", "name", "description", "schema", "strict");
        if (!spec.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !IsName(name.GetString()!))
        {
            throw Problem("response_format.json_schema.name must be 1 to 64 letters, digits, underscores or dashes.", "response_format.json_schema.name");
        }

        if (spec.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            throw Problem("response_format.json_schema.strict must be a boolean.", "response_format.json_schema.strict");
        }

        // OpenAI lets the schema out (any JSON then); TokenGrid asks for it, since a free value is what json_object is for.
        if (!spec.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
        {
            throw Problem("response_format.json_schema.schema must be a JSON schema object.", "response_format.json_schema.schema");
        }

        var text = schema.GetRawText();
        if (model.CheckOutputSchema(text) is { } problem)
        {
            var where = problem.Path.Length > 0 ? $" at {problem.Path}" : "";
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"response_format.json_schema.schema cannot be enforced ({problem.Keyword}{where}): {problem.Message}",
                "unsupported_schema",
                "response_format.json_schema.schema"));
        }

        return text;
    }

    /// <summary>Whether <paramref name="name"/> is a name OpenAI accepts for a schema or a function: 1 to 64 letters, digits, underscores or dashes.</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    private static ApiProblemException Problem(string detail, string param) => new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
