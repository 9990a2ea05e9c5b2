using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Converts request JSON into template values the way the reference converts JavaScript values: integral numbers
/// are integers (<c>1.0</c> too), other numbers floats, and mapping keys that are array indices (<c>"0"</c>,
/// <c>"1"</c>, …) come first in ascending order, as JavaScript orders an object's own keys.
/// </summary>
internal static class JsonValues
{
    public static Value From(JsonNode? node) => node switch
    {
        null => NullValue.Instance,
        JsonObject o => FromObject(o),
        JsonArray a => new ArrayValue(a.Select(From).ToList()),
        JsonValue v => FromScalar(v),
        _ => throw new ArgumentException($"Unsupported JSON node {node.GetType().Name}", nameof(node)),
    };

    private static Value FromScalar(JsonValue v)
    {
        switch (v.GetValueKind())
        {
            case JsonValueKind.String:
                return new StringValue(v.GetValue<string>());
            case JsonValueKind.True:
                return BooleanValue.True;
            case JsonValueKind.False:
                return BooleanValue.False;
            case JsonValueKind.Null:
                return NullValue.Instance;
            case JsonValueKind.Number:
                var number = double.Parse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);
                return number % 1 == 0 ? new IntegerValue(number) : new FloatValue(number);
            default:
                throw new ArgumentException($"Unsupported JSON value kind {v.GetValueKind()}", nameof(v));
        }
    }

    private static ObjectValue FromObject(JsonObject o)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        var indexKeys = o.Where(p => IsArrayIndex(p.Key)).OrderBy(p => uint.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (key, value) in indexKeys.Concat(o.Where(p => !IsArrayIndex(p.Key))))
        {
            entries[key] = From(value);
        }

        return new ObjectValue(entries);
    }

    private static bool IsArrayIndex(string key) =>
        key.Length > 0 && key.All(char.IsAsciiDigit) && (key == "0" || key[0] != '0')
        && uint.TryParse(key, System.Globalization.CultureInfo.InvariantCulture, out var index) && index != uint.MaxValue;
}
