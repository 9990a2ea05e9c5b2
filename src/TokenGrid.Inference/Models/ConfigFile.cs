using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Models;

/// <summary>
/// One JSON file of a model directory (<c>genai_config.json</c>, <c>config.json</c>, <c>generation_config.json</c>),
/// read field by field with errors that name the file and the field. Fields are addressed by their dotted path
/// (<c>model.decoder.num_hidden_layers</c>); a JSON <c>null</c> counts as absent.
/// </summary>
internal sealed class ConfigFile
{
    private ConfigFile(string path, JsonObject root)
    {
        Path = path;
        Root = root;
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>The file name, as notes and errors show it.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    public JsonObject Root { get; }

    /// <summary>The file, or null when it does not exist.</summary>
    public static ConfigFile? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InvalidModelException($"{path}: not valid JSON: {e.Message}", e);
        }

        return node is JsonObject root ? new ConfigFile(path, root) : throw new InvalidModelException($"{path}: expected a JSON object at the top level.");
    }

    /// <summary>Whether the file states <paramref name="field"/> (with any value but null).</summary>
    public bool Has(string field) => Node(field) is not null;

    /// <summary>The object at <paramref name="field"/>, or null when absent.</summary>
    public JsonObject? Object(string field) => Node(field) switch
    {
        null => null,
        JsonObject o => o,
        var other => throw Invalid(field, $"must be an object, not {other.ToJsonString()}"),
    };

    /// <summary>The array at <paramref name="field"/>, or null when absent.</summary>
    public JsonArray? Array(string field) => Node(field) switch
    {
        null => null,
        JsonArray a => a,
        var other => throw Invalid(field, $"must be an array, not {other.ToJsonString()}"),
    };

    public string? String(string field) => Node(field) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw Invalid(field, $"must be a string, not {other.ToJsonString()}"),
    };

    public double? Number(string field) => Node(field) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        var other => throw Invalid(field, $"must be a number, not {other.ToJsonString()}"),
    };

    /// <summary>An integer field; like onnxruntime-genai, a whole number written as <c>32.0</c> is accepted.</summary>
    public int? Int(string field) => Number(field) switch
    {
        null => null,
        var d when d == Math.Floor(d.Value) && d >= int.MinValue && d <= int.MaxValue => (int)d.Value,
        var d => throw Invalid(field, $"must be a whole number, not {d.Value.ToString(CultureInfo.InvariantCulture)}"),
    };

    /// <summary>A size field: positive when present; 0 counts as absent, as it is onnxruntime-genai's "not set".</summary>
    public int? PositiveInt(string field) => Int(field) switch
    {
        null or 0 => null,
        > 0 and var i => i,
        var i => throw Invalid(field, $"must be positive, not {i}"),
    };

    public bool? Bool(string field) => Node(field) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw Invalid(field, $"must be true or false, not {other.ToJsonString()}"),
    };

    /// <summary>A token id field that may be one number or a list of numbers; empty when absent.</summary>
    public IReadOnlyList<int> Ids(string field)
    {
        var node = Node(field);
        if (node is JsonArray list)
        {
            var ids = new List<int>(list.Count);
            foreach (var item in list)
            {
                ids.Add(item is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && d == Math.Floor(d) && d >= 0 && d <= int.MaxValue
                    ? (int)d
                    : throw Invalid(field, $"must hold token ids, not {item?.ToJsonString() ?? "null"}"));
            }

            return ids;
        }

        return Int(field) is { } id ? [id] : [];
    }

    /// <summary>"path: lacks required field 'x'" and why it cannot be defaulted.</summary>
    public InvalidModelException Missing(string field, string why) => new($"{Path}: lacks required field '{field}' ({why}).");

    public InvalidModelException Invalid(string field, string why) => new($"{Path}: field '{field}' {why}.");

    private JsonNode? Node(string field)
    {
        JsonNode? node = Root;
        foreach (var key in field.Split('.'))
        {
            node = node is JsonObject o ? o[key] : null;
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }
}
