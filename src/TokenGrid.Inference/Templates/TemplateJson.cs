using System.Globalization;
using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>Options of the <c>tojson</c> filter.</summary>
internal sealed record JsonStyle(int? Indent, bool EnsureAscii, (string Item, string Key)? Separators, bool SortKeys)
{
    public static readonly JsonStyle Default = new(null, false, null, false);
}

/// <summary>
/// @huggingface/jinja's <c>toJSON</c>: Python <c>json.dumps</c> layout (<c>", "</c> and <c>": "</c>, or <c>","</c>
/// with an indent) with JavaScript's string escaping (<c>JSON.stringify</c>: no escaping of non-ASCII unless
/// <c>ensure_ascii</c>, lowercase hex).
/// </summary>
internal static class TemplateJson
{
    public static string Serialize(Value value, JsonStyle style, bool undefinedAsNull = true)
    {
        var text = new StringBuilder();
        Write(text, value, style, 0, undefinedAsNull);
        return text.ToString();
    }

    public static string Quote(string s)
    {
        var text = new StringBuilder(s.Length + 2).Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            var lone = (char.IsHighSurrogate(c) && !(i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])))
                || (char.IsLowSurrogate(c) && !(i > 0 && char.IsHighSurrogate(s[i - 1])));
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\b' => text.Append("\\b"),
                '\f' => text.Append("\\f"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                _ when c < ' ' || lone => text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }

        return text.Append('"').ToString();
    }

    private static void Write(StringBuilder text, Value value, JsonStyle style, int depth, bool undefinedAsNull)
    {
        switch (value)
        {
            case NullValue:
                text.Append("null");
                return;
            case UndefinedValue:
                text.Append(undefinedAsNull ? "null" : "undefined");
                return;
            case IntegerValue or FloatValue:
                var number = value is IntegerValue i ? i.Number : ((FloatValue)value).Number;
                text.Append(double.IsFinite(number) ? JsNumber.ToString(number) : "null");
                return;
            case BooleanValue b:
                text.Append(b.Render());
                return;
            case StringValue s:
                text.Append(Escape(s.Text, style));
                return;
            case ArrayValue a when a is not TupleValue:
                WriteContainer(text, a.Items.Select(x => ((string?)null, x)).ToList(), style, depth, undefinedAsNull, '[', ']');
                return;
            case ObjectValue o when o is not KeywordArgumentsValue:
                WriteContainer(text, Entries(o.Entries, style), style, depth, undefinedAsNull, '{', '}');
                return;
            case NamespaceValue n:
                WriteContainer(text, Entries(n.Entries, style), style, depth, undefinedAsNull, '{', '}');
                return;
            default:
                throw new TemplateError($"Cannot convert to JSON: {value.TypeName}");
        }
    }

    private static List<(string?, Value)> Entries(OrderedDictionary<string, Value> entries, JsonStyle style)
    {
        if (style.SortKeys)
        {
            // The reference sorts with localeCompare (ICU collation), which no .NET comparer reproduces exactly.
            throw new TemplateError("tojson(sort_keys=true) is not supported", unsupported: true);
        }

        return entries.Select(e => ((string?)e.Key, e.Value)).ToList();
    }

    private static void WriteContainer(StringBuilder text, List<(string? Key, Value Value)> items, JsonStyle style, int depth, bool undefinedAsNull, char open, char close)
    {
        var indent = style.Indent is > 0 ? new string(' ', style.Indent.Value) : string.Empty;
        var (itemSeparator, keySeparator) = style.Separators ?? (style.Indent is > 0 ? (",", ": ") : (", ", ": "));
        var basePadding = "\n" + string.Concat(Enumerable.Repeat(indent, depth));
        var childPadding = basePadding + indent;
        var pretty = style.Indent is > 0 && items.Count > 0;
        text.Append(open);
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                text.Append(itemSeparator);
            }

            if (pretty)
            {
                text.Append(childPadding);
            }

            if (items[i].Key is { } key)
            {
                text.Append(Escape(key, style)).Append(keySeparator);
            }

            Write(text, items[i].Value, style, depth + 1, undefinedAsNull);
        }

        if (pretty)
        {
            text.Append(basePadding);
        }

        text.Append(close);
    }

    private static string Escape(string s, JsonStyle style)
    {
        var quoted = Quote(s);
        if (!style.EnsureAscii)
        {
            return quoted;
        }

        var text = new StringBuilder(quoted.Length);
        foreach (var c in quoted)
        {
            _ = c >= '\x7f' ? text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)) : text.Append(c);
        }

        return text.ToString();
    }
}
