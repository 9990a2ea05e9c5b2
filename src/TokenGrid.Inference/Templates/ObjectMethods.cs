namespace TokenGrid.Inference.Templates;

/// <summary>Attributes of mappings: <c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>, <c>dictsort</c>.</summary>
internal static class ObjectMethods
{
    public static Value? Get(ObjectValue o, string name) => name switch
    {
        "get" => new FunctionValue(name, (args, _) => GetItem(o, args)),
        "items" => new FunctionValue(name, (_, _) => Items(o)),
        "keys" => new FunctionValue(name, (_, _) => new ArrayValue(o.Entries.Keys.Select(k => (Value)new StringValue(k)).ToList())),
        "values" => new FunctionValue(name, (_, _) => new ArrayValue([.. o.Entries.Values])),
        "dictsort" => new FunctionValue(name, (args, _) => DictSort(o, args)),
        _ => null,
    };

    public static ArrayValue Items(ObjectValue o) =>
        new(o.Entries.Select(e => (Value)new ArrayValue([new StringValue(e.Key), e.Value])).ToList());

    /// <summary>Splits a call's arguments into positional ones and the trailing keyword arguments.</summary>
    public static (List<Value> Positional, OrderedDictionary<string, Value> Keywords) SplitArguments(List<Value> args)
    {
        var keywords = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        var positional = new List<Value>();
        foreach (var arg in args)
        {
            if (arg is KeywordArgumentsValue kw)
            {
                keywords = kw.Entries;
            }
            else
            {
                positional.Add(arg);
            }
        }

        return (positional, keywords);
    }

    public static Value Argument(List<Value> positional, int index, OrderedDictionary<string, Value> keywords, string name, Value fallback) =>
        index < positional.Count ? positional[index] : keywords.GetValueOrDefault(name) ?? fallback;

    private static Value GetItem(ObjectValue o, List<Value> args)
    {
        if (args.Count == 0 || args[0] is not StringValue key)
        {
            throw new TemplateError($"Object key must be a string: got {(args.Count == 0 ? "undefined" : args[0].TypeName)}");
        }

        return o.Entries.GetValueOrDefault(key.Text) ?? (args.Count > 1 ? args[1] : NullValue.Instance);
    }

    private static ArrayValue DictSort(ObjectValue o, List<Value> args)
    {
        var (positional, keywords) = SplitArguments(args);
        if (Argument(positional, 0, keywords, "case_sensitive", BooleanValue.False) is not BooleanValue caseSensitive)
        {
            throw new TemplateError("case_sensitive must be a boolean");
        }

        if (Argument(positional, 1, keywords, "by", new StringValue("key")) is not StringValue by)
        {
            throw new TemplateError("by must be a string");
        }

        if (by.Text is not ("key" or "value"))
        {
            throw new TemplateError("by must be either 'key' or 'value'");
        }

        if (Argument(positional, 2, keywords, "reverse", BooleanValue.False) is not BooleanValue reverse)
        {
            throw new TemplateError("reverse must be a boolean");
        }

        var index = by.Text == "key" ? 0 : 1;
        var items = Items(o).Items;
        var sorted = ValueComparer.StableSort(items, (a, b) =>
        {
            var result = ValueComparer.Compare(((ArrayValue)a).Items[index], ((ArrayValue)b).Items[index], caseSensitive.Flag);
            return reverse.Flag ? -result : result;
        });
        return new ArrayValue(sorted);
    }
}

/// <summary>The reference's ordering for <c>sort</c> and <c>dictsort</c>: numbers with numbers, strings with strings.</summary>
internal static class ValueComparer
{
    public static int Compare(Value a, Value b, bool caseSensitive)
    {
        if (a is NullValue && b is NullValue)
        {
            return 0;
        }

        if (a is NullValue || b is NullValue)
        {
            throw new TemplateError($"Cannot compare {a.TypeName} with {b.TypeName}");
        }

        if (a is UndefinedValue && b is UndefinedValue)
        {
            return 0;
        }

        if (a is UndefinedValue || b is UndefinedValue)
        {
            throw new TemplateError($"Cannot compare {a.TypeName} with {b.TypeName}");
        }

        if (Numeric(a) is { } x && Numeric(b) is { } y)
        {
            return x < y ? -1 : x > y ? 1 : 0;
        }

        if (a.TypeName != b.TypeName)
        {
            throw new TemplateError($"Cannot compare different types: {a.TypeName} and {b.TypeName}");
        }

        if (a is StringValue sa && b is StringValue sb)
        {
            var left = caseSensitive ? sa.Text : JsText.ToLower(sa.Text);
            var right = caseSensitive ? sb.Text : JsText.ToLower(sb.Text);
            return Math.Sign(string.CompareOrdinal(left, right));
        }

        throw new TemplateError($"Cannot compare type: {a.TypeName}");
    }

    /// <summary>A stable sort, as JavaScript's <c>Array.prototype.sort</c> is.</summary>
    public static List<Value> StableSort(List<Value> items, Comparison<Value> comparison)
    {
        var indexed = items.Select((v, i) => (v, i)).ToList();
        indexed.Sort((p, q) => comparison(p.v, q.v) is var c && c != 0 ? c : p.i.CompareTo(q.i));
        return indexed.Select(p => p.v).ToList();
    }

    private static double? Numeric(Value v) => v switch
    {
        IntegerValue i => i.Number,
        FloatValue f => f.Number,
        BooleanValue b => b.Flag ? 1 : 0,
        _ => null,
    };
}
