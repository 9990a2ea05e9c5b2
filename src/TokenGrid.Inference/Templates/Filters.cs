namespace TokenGrid.Inference.Templates;

/// <summary>
/// Filters written without arguments (<c>x | trim</c>), dispatched on the operand's type exactly as @huggingface/jinja
/// does; a filter it does not define for that type is an error, never a silent pass-through.
/// </summary>
internal static class Filters
{
    /// <summary>Every filter name the reference knows, for any type; other names are reported as unsupported.</summary>
    public static readonly HashSet<string> Known =
    [
        "safe", "tojson", "list", "first", "last", "length", "reverse", "sort", "join", "string", "unique", "upper", "lower",
        "title", "capitalize", "trim", "indent", "int", "float", "abs", "items", "keys", "values", "get", "dictsort", "bool",
        "default", "selectattr", "rejectattr", "map", "replace",
    ];

    public static Value Apply(Value operand, string name)
    {
        if (name == "safe")
        {
            return operand;
        }

        if (name == "tojson")
        {
            return new StringValue(TemplateJson.Serialize(operand, JsonStyle.Default));
        }

        return operand switch
        {
            ArrayValue a => ArrayFilter(a, name),
            StringValue s => StringFilter(s, name),
            IntegerValue or FloatValue => NumberFilter(operand, name),
            ObjectValue o => ObjectFilter(o, name),
            BooleanValue b => name switch
            {
                "bool" => b,
                "int" => new IntegerValue(b.Flag ? 1 : 0),
                "float" => new FloatValue(b.Flag ? 1 : 0),
                "string" => new StringValue(b.Render()),
                _ => throw Unknown("BooleanValue", name),
            },
            _ => throw new TemplateError(
                Known.Contains(name) ? $"Cannot apply filter \"{name}\" to type: {operand.TypeName}" : $"Unknown filter: {name}",
                unsupported: !Known.Contains(name)),
        };
    }

    /// <summary>The reference's <c>indent</c>: every line but the first (unless <paramref name="first"/>) and blank ones.</summary>
    public static string Indent(string text, string indent, bool first, bool blank) =>
        string.Join("\n", text.Split('\n').Select((line, i) => (!first && i == 0) || (!blank && line.Length == 0) ? line : indent + line));

    public static TemplateError Unknown(string type, string name) =>
        new($"Unknown {type} filter: {name}", unsupported: !Known.Contains(name));

    private static Value ArrayFilter(ArrayValue a, string name) => name switch
    {
        "list" => a,
        // The reference has no value for the first or last of an empty list and fails wherever it is used.
        "first" => a.Items.Count > 0 ? a.Items[0] : throw new TemplateError("first of an empty list"),
        "last" => a.Items.Count > 0 ? a.Items[^1] : throw new TemplateError("last of an empty list"),
        "length" => new IntegerValue(a.Items.Count),
        "reverse" => new ArrayValue(Enumerable.Reverse(a.Items).ToList()),
        "sort" => new ArrayValue(ValueComparer.StableSort(a.Items, (x, y) => ValueComparer.Compare(x, y, caseSensitive: false))),
        "join" => new StringValue(string.Concat(a.Items.Select(JsSemantics.JoinText))),
        "string" => new StringValue(TemplateJson.Serialize(a, JsonStyle.Default, undefinedAsNull: false)),
        "unique" => new ArrayValue(Unique(a.Items)),
        _ => throw Unknown("ArrayValue", name),
    };

    private static List<Value> Unique(List<Value> items)
    {
        var output = new List<Value>();
        foreach (var item in items)
        {
            if (!output.Any(seen => JsSemantics.SameValueZero(seen, item)))
            {
                output.Add(item);
            }
        }

        return output;
    }

    private static Value StringFilter(StringValue s, string name) => name switch
    {
        "length" => new IntegerValue(s.Text.Length),
        "upper" => new StringValue(JsText.ToUpper(s.Text)),
        "lower" => new StringValue(JsText.ToLower(s.Text)),
        "title" => new StringValue(JsText.TitleCase(s.Text)),
        "capitalize" => new StringValue(StringMethods.Capitalize(s.Text)),
        "trim" => new StringValue(JsText.Trim(s.Text)),
        "indent" => new StringValue(Indent(s.Text, "    ", first: false, blank: false)),
        "join" or "string" => s,
        "int" => new IntegerValue(JsNumber.ParseInt(s.Text) ?? 0),
        "float" => new FloatValue(JsNumber.ParseFloat(s.Text) ?? 0),
        _ => throw Unknown("StringValue", name),
    };

    private static Value NumberFilter(Value n, string name)
    {
        var number = n is IntegerValue i ? i.Number : ((FloatValue)n).Number;
        return name switch
        {
            "abs" => n is IntegerValue ? new IntegerValue(Math.Abs(number)) : new FloatValue(Math.Abs(number)),
            "int" => new IntegerValue(Math.Floor(number)),
            "float" => new FloatValue(number),
            "string" => new StringValue(n.Render()),
            _ => throw Unknown("NumericValue", name),
        };
    }

    private static Value ObjectFilter(ObjectValue o, string name)
    {
        switch (name)
        {
            case "items":
                return ObjectMethods.Items(o);
            case "length":
                return new IntegerValue(o.Entries.Count);
        }

        return ObjectMethods.Get(o, name) switch
        {
            FunctionValue f => f.Invoke([], new Scope()),
            { } v => v,
            null => throw Unknown("ObjectValue", name),
        };
    }
}
