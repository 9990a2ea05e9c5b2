using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Compiles a JSON schema (draft 2020-12, and the older drafts' <c>definitions</c> and boolean exclusive bounds) into
/// <see cref="SchemaNode"/>s. Generation is tighter than validation where JSON Schema's defaults would let a sequence
/// wander: keys not declared are written only when <c>additionalProperties</c> gives them a schema (or is true), array
/// items beyond <c>prefixItems</c> only when <c>items</c> says what they are, numbers without exponents and within
/// <see cref="NumberBounds.MaxIntegerDigits"/> digits. Every value generated still validates against the schema.
/// A validation keyword that is not supported throws <see cref="ConstraintException"/> naming it; keywords unknown to
/// JSON Schema are annotations and are ignored, as the specification says.
/// </summary>
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>Most nodes one schema may compile to: a hostile schema is refused instead of stalling a node.</summary>
    public const int MaxNodes = 20_000;

    /// <summary>Most <c>minItems</c> supported.</summary>
    public const int MaxMinItems = 4_096;

    private static readonly HashSet<string> s_unsupported =
    [
        "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies", "patternProperties",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
        "additionalItems", "$dynamicRef", "$recursiveRef", "contentSchema", "minProperties", "maxProperties",
    ];

    private static readonly JsonWriterOptions s_compact = new() { Encoder = JsonOwnEscaping.Instance };
    private readonly JsonElement _document;
    private readonly Dictionary<string, RefNode> _byPointer = new(StringComparer.Ordinal);
    private readonly List<SchemaNode> _nodes = [];
    private readonly RefNode _any = new();

    private JsonSchemaCompiler(JsonElement document)
    {
        _document = document;
        _any.Target = Add(new AnyOfNode(
        [
            Add(new ObjectNode([], _any)),
            Add(new ArrayNode([], _any, 0, int.MaxValue)),
            Add(new StringNode(0, int.MaxValue)),
            Add(new NumberNode(new NumberBounds(false, null, false, null, false))),
            Literals(["true", "false", "null"]),
        ]));
        Add(_any);
    }

    /// <summary>Compiles <paramref name="schema"/>; throws <see cref="ConstraintException"/> when it cannot be enforced.</summary>
    public static SchemaNode Compile(JsonElement schema)
    {
        var compiler = new JsonSchemaCompiler(schema);
        var root = compiler.Compile(schema, "");
        compiler.Solve();
        compiler.CheckAlternatives();
        if (root.MinBytes >= SchemaNode.Unsatisfiable)
        {
            throw new ConstraintException("schema", "No JSON value satisfies this schema.");
        }

        return root;
    }

    private SchemaNode Compile(JsonElement schema, string pointer)
    {
        if (_byPointer.TryGetValue(pointer, out var known))
        {
            return known;
        }

        var cell = Add(new RefNode());
        _byPointer[pointer] = cell;
        cell.Target = CompileBody(schema, pointer);
        return cell;
    }

    private SchemaNode CompileBody(JsonElement schema, string pointer)
    {
        if (schema.ValueKind is JsonValueKind.True)
        {
            return _any;
        }

        if (schema.ValueKind is JsonValueKind.False)
        {
            return Add(new AnyOfNode([]));
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new ConstraintException("schema", "A schema must be an object or a boolean.", pointer);
        }

        var keywords = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in schema.EnumerateObject())
        {
            keywords.Add(property.Name);
            if (s_unsupported.Contains(property.Name) && !IsHarmless(property))
            {
                throw new ConstraintException(property.Name, $"The keyword '{property.Name}' is not supported in structured outputs.", pointer);
            }
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            RequireAlone(schema, "$ref", pointer);
            return Compile(Resolve(reference, pointer, out var target), target);
        }

        if (schema.TryGetProperty("allOf", out var allOf))
        {
            return AllOf.Merge(this, schema, allOf, pointer);
        }

        foreach (var combinator in (string[])["anyOf", "oneOf"])
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                RequireAlone(schema, combinator, pointer);
                if (options.ValueKind != JsonValueKind.Array || options.GetArrayLength() == 0)
                {
                    throw new ConstraintException(combinator, $"{combinator} must be a non-empty array of schemas.", pointer);
                }

                return Add(new AnyOfNode([.. options.EnumerateArray().Select((o, i) => Compile(o, $"{pointer}/{combinator}/{i}"))]));
            }
        }

        var types = Types(schema, keywords, pointer);
        if (schema.TryGetProperty("enum", out var values) || schema.TryGetProperty("const", out values))
        {
            var list = values.ValueKind == JsonValueKind.Array && keywords.Contains("enum") ? values.EnumerateArray().ToList() : [values];
            return Literals(list.Where(v => types is null || types.Contains(TypeOf(v)) || (TypeOf(v) == "integer" && types.Contains("number")))
                .Select(Compact).Distinct().ToList());
        }

        if (types is null)
        {
            return _any;
        }

        var options2 = types.Select(t => CompileType(schema, t, pointer)).ToArray();
        return options2.Length == 1 ? options2[0] : Add(new AnyOfNode(options2));
    }

    private SchemaNode CompileType(JsonElement schema, string type, string pointer) => type switch
    {
        "string" => StringSchema.Compile(this, schema, pointer),
        "number" or "integer" => Add(new NumberNode(Bounds(schema, type == "integer", pointer))),
        "boolean" => Literals(["true", "false"]),
        "null" => Literals(["null"]),
        "object" => ObjectSchema(schema, pointer),
        "array" => ArraySchema(schema, pointer),
        _ => throw new ConstraintException("type", $"Unknown type '{type}'.", pointer),
    };

    private ObjectNode ObjectSchema(JsonElement schema, string pointer)
    {
        var required = Required(schema);
        SchemaNode? additional = null;
        if (schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind != JsonValueKind.False)
        {
            additional = Compile(extra, pointer + "/additionalProperties");
        }

        var declared = new List<(string, JsonElement, string)>();
        if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            declared.AddRange(properties.EnumerateObject().Select(p => (p.Name, p.Value, $"{pointer}/properties/{Escape(p.Name)}")));
        }

        return BuildObject(declared, required, additional);
    }

    /// <summary>The names in a schema's <c>required</c>.</summary>
    internal static HashSet<string> Required(JsonElement schema) =>
        !schema.TryGetProperty("required", out var r) ? []
        : r.ValueKind == JsonValueKind.Array && r.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? r.EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal)
            : throw new ConstraintException("required", "required must be an array of property names.");

    /// <summary>An object node from its declared properties (name, schema, pointer), required names and additional schema.</summary>
    internal ObjectNode BuildObject(IReadOnlyList<(string Name, JsonElement Schema, string Pointer)> declared, HashSet<string> required, SchemaNode? additional)
    {
        var properties = new List<ObjectProperty>();
        foreach (var (name, schema, at) in declared)
        {
            properties.Add(new ObjectProperty(name, Compile(schema, at), required.Contains(name), Key(name)));
        }

        foreach (var name in required.Where(n => properties.All(p => p.Name != n)))
        {
            // Required but not declared: JSON Schema lets its value be anything the additional schema allows.
            properties.Add(new ObjectProperty(name, additional ?? _any, true, Key(name)));
        }

        return Add(new ObjectNode([.. properties], additional));
    }

    /// <summary>Escapes a property name for a JSON pointer.</summary>
    internal static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private ArrayNode ArraySchema(JsonElement schema, string pointer)
    {
        var prefix = new List<SchemaNode>();
        SchemaNode? items = null;
        var hasPrefix = schema.TryGetProperty("prefixItems", out var prefixItems);
        if (!hasPrefix && schema.TryGetProperty("items", out var tuple) && tuple.ValueKind == JsonValueKind.Array)
        {
            // Drafts before 2020-12 wrote prefixItems as an array under items.
            (hasPrefix, prefixItems) = (true, tuple);
        }

        if (hasPrefix && prefixItems.ValueKind != JsonValueKind.Array)
        {
            throw new ConstraintException("prefixItems", "prefixItems must be an array of schemas.", pointer);
        }

        if (hasPrefix)
        {
            prefix.AddRange(prefixItems.EnumerateArray().Select((e, i) => Compile(e, $"{pointer}/prefixItems/{i}")));
        }

        if (schema.TryGetProperty("items", out var each) && each.ValueKind is JsonValueKind.Object or JsonValueKind.True)
        {
            items = Compile(each, pointer + "/items");
        }
        else if (!hasPrefix && !schema.TryGetProperty("items", out _))
        {
            items = _any;
        }

        var min = Count(schema, "minItems", pointer) ?? 0;
        var max = Count(schema, "maxItems", pointer) ?? int.MaxValue;
        if (min > MaxMinItems)
        {
            throw new ConstraintException("minItems", $"minItems above {MaxMinItems} is not supported.", pointer);
        }

        return Add(new ArrayNode([.. prefix], items, min, max));
    }

    /// <summary>The node for a set of compact JSON texts.</summary>
    internal LiteralNode Literals(IReadOnlyList<string> texts) =>
        Add(new LiteralNode(new ByteTrie([.. texts.Select(t => System.Text.Encoding.UTF8.GetBytes(t))])));

    /// <summary>Registers a node for the length pass; refuses schemas that grow too large.</summary>
    internal T Add<T>(T node)
        where T : SchemaNode
    {
        if (_nodes.Count >= MaxNodes)
        {
            throw new ConstraintException("schema", $"The schema is too large to compile (more than {MaxNodes} parts).");
        }

        _nodes.Add(node);
        return node;
    }

    /// <summary>Compiles a subschema found at <paramref name="pointer"/>.</summary>
    internal SchemaNode CompileAt(JsonElement schema, string pointer) => Compile(schema, pointer);

    /// <summary>The schema a <c>$ref</c> points to, and its pointer.</summary>
    internal JsonElement Resolve(JsonElement reference, string pointer, out string target)
    {
        var text = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "";
        if (!text.StartsWith('#'))
        {
            throw new ConstraintException("$ref", $"Only references inside the schema (#...) are supported, not '{text}'.", pointer);
        }

        target = Uri.UnescapeDataString(text[1..]);
        var current = _document;
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            var found = current.ValueKind == JsonValueKind.Object && current.TryGetProperty(name, out var next) ? next
                : current.ValueKind == JsonValueKind.Array && int.TryParse(name, out var index) && index < current.GetArrayLength() ? current[index]
                : default;
            if (found.ValueKind == JsonValueKind.Undefined)
            {
                throw new ConstraintException("$ref", $"The reference '{text}' points to nothing in the schema.", pointer);
            }

            current = found;
        }

        return current;
    }

    /// <summary>Compact JSON text of a value, as generated.</summary>
    internal static string Compact(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, s_compact))
        {
            value.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A non-negative integer keyword, or null when absent.</summary>
    internal static int? Count(JsonElement schema, string keyword, string pointer)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var d) || d < 0 || decimal.Truncate(d) != d)
        {
            throw new ConstraintException(keyword, $"'{keyword}' must be a non-negative integer.", pointer);
        }

        return d > int.MaxValue ? int.MaxValue : (int)d;
    }

    private static void RequireAlone(JsonElement schema, string keyword, string pointer)
    {
        foreach (var property in schema.EnumerateObject())
        {
            if (property.Name != keyword && s_validation.Contains(property.Name))
            {
                throw new ConstraintException(keyword, $"'{keyword}' beside other constraints ('{property.Name}') is not supported.", pointer);
            }
        }
    }

    /// <summary>The validation keywords this compiler knows.</summary>
    internal static readonly HashSet<string> s_validation =
    [
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "enum", "const", "anyOf", "oneOf",
        "allOf", "$ref", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems",
    ];

    private static bool IsHarmless(JsonProperty property) => property.Name switch
    {
        "minProperties" => property.Value.ValueKind == JsonValueKind.Number && property.Value.GetDouble() == 0,
        "additionalItems" => property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        _ => false,
    };

    private static HashSet<string>? Types(JsonElement schema, HashSet<string> keywords, string pointer)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            var names = type.ValueKind == JsonValueKind.Array && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String)
                ? type.EnumerateArray().Select(t => t.GetString()!).ToHashSet()
                : type.ValueKind == JsonValueKind.String ? [type.GetString()!]
                : throw new ConstraintException("type", "type must be a type name or an array of them.", pointer);
            if (names.Contains("integer") && names.Contains("number"))
            {
                names.Remove("integer");
            }

            return names;
        }

        if (keywords.Contains("enum") || keywords.Contains("const"))
        {
            return null;
        }

        return keywords.Overlaps(["properties", "required", "additionalProperties"]) ? ["object"]
            : keywords.Overlaps(["items", "prefixItems", "minItems", "maxItems"]) ? ["array"]
            : keywords.Overlaps(["minLength", "maxLength", "pattern", "format"]) ? ["string"]
            : keywords.Overlaps(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) ? ["number"]
            : null;
    }

    private static string TypeOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetDecimal(out var d) && decimal.Truncate(d) == d ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    private static byte[] Key(string name) => System.Text.Encoding.UTF8.GetBytes(Compact(JsonSerializer.SerializeToElement(name)));
}
