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
    /// <summary>Chat's <c>response_format</c> as the schema text for the node, or null for free text.</summary>
    public static string? SchemaOf(JsonElement format, CatalogModel model) => SchemaOfFormat(format, "response_format", nestedSpec: true, model);

    /// <summary>
    /// The Responses API's <c>text.format</c> as a schema text for the node, or null for free text: the same formats as
    /// <c>response_format</c>, with a <c>json_schema</c>'s <c>name</c>, <c>schema</c>, <c>strict</c> and
    /// <c>description</c> beside its <c>type</c>; errors name <c>text.format…</c>.
    /// </summary>
    public static string? SchemaOfTextFormat(JsonElement text, CatalogModel model)
    {
        if (text.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (text.ValueKind != JsonValueKind.Object)
        {
            throw Problem("text must be an object with a format.", "text");
        }

        RequestFieldPolicy.CheckKeys(text, "text", "format", "verbosity");
        if (text.TryGetProperty("verbosity", out var verbosity) && verbosity.ValueKind != JsonValueKind.Null)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                "verbosity is not supported: TokenGrid does not pass it to chat templates (text.verbosity).", "unsupported_parameter", "text.verbosity"));
        }

        return text.TryGetProperty("format", out var format) ? SchemaOfFormat(format, "text.format", nestedSpec: false, model) : null;
    }

    /// <summary>
    /// A format object named <paramref name="path"/>: <c>text</c>, <c>json_object</c> or <c>json_schema</c>, whose
    /// <c>name</c>, <c>description</c>, <c>schema</c> and <c>strict</c> are in a <c>json_schema</c> object of their own
    /// (<paramref name="nestedSpec"/>, chat's layout) or beside the type (the Responses API's).
    /// </summary>
    private static string? SchemaOfFormat(JsonElement format, string path, bool nestedSpec, CatalogModel model)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw Problem($"{path} must be an object with a type: text, json_object or json_schema.", path);
        }

        string[] specKeys = ["name", "description", "schema", "strict"];
        switch (type.GetString())
        {
            case "text":
                RequestFieldPolicy.CheckKeys(format, path, "type");
                return null;
            case "json_object":
                RequestFieldPolicy.CheckKeys(format, path, "type");
                return CatalogModel.AnyObjectSchema;
            case "json_schema" when !nestedSpec:
                RequestFieldPolicy.CheckKeys(format, path, ["type", .. specKeys]);
                return SchemaOfSpec(format, path, model);
            case "json_schema":
                RequestFieldPolicy.CheckKeys(format, path, "type", "json_schema");
                if (!format.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object)
                {
                    throw Problem($"{path}.json_schema is required for type json_schema.", $"{path}.json_schema");
                }

                RequestFieldPolicy.CheckKeys(spec, $"{path}.json_schema", specKeys);
                return SchemaOfSpec(spec, $"{path}.json_schema", model);
            default:
                throw Problem($"{path}.type '{type.GetString()}' is not one of text, json_object, json_schema.", $"{path}.type");
        }
    }

    /// <summary>A json_schema format's <c>name</c>, <c>strict</c> and <c>schema</c> under <paramref name="path"/>, checked; the schema's text.</summary>
    private static string SchemaOfSpec(JsonElement spec, string path, CatalogModel model)
    {
        if (!spec.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !IsName(name.GetString()!))
        {
            throw Problem($"{path}.name must be 1 to 64 letters, digits, underscores or dashes.", $"{path}.name");
        }

        if (spec.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            throw Problem($"{path}.strict must be a boolean.", $"{path}.strict");
        }

        // OpenAI lets the schema out (any JSON then); TokenGrid asks for it, since a free value is what json_object is for.
        if (!spec.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
        {
            throw Problem($"{path}.schema must be a JSON schema object.", $"{path}.schema");
        }

        var text = schema.GetRawText();
        if (model.CheckOutputSchema(text) is { } problem)
        {
            var where = problem.Path.Length > 0 ? $" at {problem.Path}" : "";
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"{path}.schema cannot be enforced ({problem.Keyword}{where}): {problem.Message}",
                "unsupported_schema",
                $"{path}.schema"));
        }

        return text;
    }

    /// <summary>Whether <paramref name="name"/> is a name OpenAI accepts for a schema or a function: 1 to 64 letters, digits, underscores or dashes.</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    private static ApiProblemException Problem(string detail, string param) => new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
