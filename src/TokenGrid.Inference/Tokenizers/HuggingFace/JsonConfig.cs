using System.Text.Json;
using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Tokenizers.HuggingFace;

/// <summary>
/// One object of a <c>tokenizer.json</c> with the path that leads to it, so that every refusal names the file
/// and the field (<c>tokenizer.json: pre_tokenizer.pretokenizers[1].type 'UnicodeScripts' is not supported</c>).
/// </summary>
internal readonly record struct JsonConfig(string File, string Path, JsonElement Element)
{
    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public string Type => String("type");

    public JsonConfig Child(string name) =>
        new(File, Path.Length == 0 ? name : $"{Path}.{name}", Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(name, out var value) ? value : default);

    public IEnumerable<JsonConfig> Items(string name)
    {
        var array = Child(name);
        if (array.IsNull)
        {
            yield break;
        }

        if (array.Element.ValueKind != JsonValueKind.Array)
        {
            throw array.Invalid("must be an array");
        }

        var index = 0;
        foreach (var item in array.Element.EnumerateArray())
        {
            yield return new JsonConfig(File, $"{array.Path}[{index++}]", item);
        }
    }

    public string String(string name) =>
        OptionalString(name) ?? throw Child(name).Invalid("is required");

    public string? OptionalString(string name)
    {
        var value = Child(name);
        return value.IsNull ? null
            : value.Element.ValueKind == JsonValueKind.String ? value.Element.GetString()
            : throw value.Invalid("must be a string");
    }

    public bool Bool(string name, bool fallback)
    {
        var value = Child(name);
        return value.IsNull ? fallback
            : value.Element.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.Element.GetBoolean()
            : throw value.Invalid("must be true or false");
    }

    public int Int(string name, int fallback)
    {
        var value = Child(name);
        return value.IsNull ? fallback
            : value.Element.ValueKind == JsonValueKind.Number && value.Element.TryGetInt32(out var number) ? number
            : throw value.Invalid("must be an integer");
    }

    public InvalidModelException Invalid(string problem) => new($"{File}: {Path} {problem}.");

    public InvalidModelException Unsupported(string what) =>
        new($"{File}: {Path} {what} is not supported; TokenGrid refuses it rather than tokenize differently from Hugging Face.");

    public InvalidModelException UnsupportedType() => Child("type").Unsupported($"'{OptionalString("type")}'");
}
