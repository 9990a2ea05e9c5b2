using System.Text;
using System.Text.Json.Nodes;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// Seeded mutations of a valid JSON body, for fuzzing: a value somewhere in the document replaced by one of another
/// type or at an edge of its range, a property removed or added, or the text itself broken (cut, a byte changed,
/// invalid UTF-8, a property twice). The same seed gives the same bodies, so a failure can be replayed.
/// </summary>
public sealed class JsonMutator(int seed)
{
    private static readonly Func<Random, JsonNode?>[] EdgeValues =
    [
        _ => null,
        _ => JsonValue.Create(true),
        _ => JsonValue.Create(0),
        _ => JsonValue.Create(-1),
        _ => JsonValue.Create(int.MaxValue),
        _ => JsonValue.Create(long.MinValue),
        _ => JsonValue.Create(ulong.MaxValue),
        _ => JsonValue.Create(1e308),
        _ => JsonValue.Create(-0.5),
        _ => JsonValue.Create(""),
        _ => JsonValue.Create(" "),
        _ => JsonValue.Create("\u0000"),
        _ => JsonValue.Create("\ud800"),
        _ => JsonValue.Create("🦀 ünïcødé ✓"),
        _ => JsonValue.Create("../../etc/passwd"),
        _ => JsonValue.Create("%00%2F%25"),
        random => JsonValue.Create(new string('x', random.Next(256, 20_000))),
        _ => new JsonArray(),
        _ => new JsonObject(),
        _ => new JsonArray(JsonValue.Create(1), JsonValue.Create("a"), null),
        random => Nested(random.Next(20, 200)),
        _ => new JsonObject { ["unexpected"] = JsonValue.Create(1) },
    ];

    private readonly Random _random = new(seed);

    /// <summary>One mutation or a few of <paramref name="valid"/>, as the bytes to send.</summary>
    public byte[] Mutate(string valid)
    {
        var text = valid;
        var count = 1 + _random.Next(3);
        for (var i = 0; i < count; i++)
        {
            text = _random.Next(10) switch
            {
                < 6 => MutateValue(text),
                6 => AddProperty(text),
                7 => Cut(text),
                8 => DuplicateProperty(text),
                _ => text,
            };
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        return _random.Next(12) == 0 ? BreakBytes(bytes) : bytes;
    }

    private static JsonNode Nested(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++)
        {
            node = new JsonArray(node);
        }

        return node;
    }

    private string MutateValue(string text)
    {
        if (Parse(text) is not { } root)
        {
            return text;
        }

        var slots = new List<(JsonNode Parent, object Key)>();
        Collect(root, slots);
        if (slots.Count == 0)
        {
            return EdgeValues[_random.Next(EdgeValues.Length)](_random)?.ToJsonString() ?? "null";
        }

        var (parent, key) = slots[_random.Next(slots.Count)];
        var remove = _random.Next(5) == 0;
        switch (parent, key)
        {
            case (JsonObject o, string name) when remove:
                o.Remove(name);
                break;
            case (JsonObject o, string name):
                o[name] = EdgeValues[_random.Next(EdgeValues.Length)](_random);
                break;
            case (JsonArray a, int index) when remove:
                a.RemoveAt(index);
                break;
            case (JsonArray a, int index):
                a[index] = EdgeValues[_random.Next(EdgeValues.Length)](_random);
                break;
        }

        return root.ToJsonString();
    }

    private string AddProperty(string text)
    {
        if (Parse(text) is not JsonObject root)
        {
            return text;
        }

        root[$"p{_random.Next(1000)}"] = EdgeValues[_random.Next(EdgeValues.Length)](_random);
        return root.ToJsonString();
    }

    private string Cut(string text) => text.Length == 0 ? text : text[.._random.Next(text.Length)];

    /// <summary>The first property written twice, the second time with another value.</summary>
    private string DuplicateProperty(string text)
    {
        if (Parse(text) is not JsonObject { Count: > 0 } root)
        {
            return text;
        }

        var (name, _) = root.First();
        var other = EdgeValues[_random.Next(EdgeValues.Length)](_random)?.ToJsonString() ?? "null";
        return text.Insert(text.IndexOf('{', StringComparison.Ordinal) + 1, $"{System.Text.Json.JsonSerializer.Serialize(name)}:{other},");
    }

    private byte[] BreakBytes(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return [0xFF];
        }

        var broken = bytes.ToArray();
        broken[_random.Next(broken.Length)] = (byte)(_random.Next(2) == 0 ? 0xC3 : 0xFF);
        return broken;
    }

    private static void Collect(JsonNode node, List<(JsonNode Parent, object Key)> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    slots.Add((o, name));
                    if (child is not null)
                    {
                        Collect(child, slots);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    slots.Add((a, i));
                    if (a[i] is { } child)
                    {
                        Collect(child, slots);
                    }
                }

                break;
        }
    }

    private static JsonNode? Parse(string text)
    {
        // A text that is not JSON, or already gives a property twice, is left as it is.
        try
        {
            return JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
