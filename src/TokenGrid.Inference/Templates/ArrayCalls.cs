namespace TokenGrid.Inference.Templates;

/// <summary>
/// Filters with arguments on lists: <c>sort(reverse, case_sensitive, attribute)</c>, <c>selectattr</c> /
/// <c>rejectattr</c> (string literal arguments only; an item without the attribute never matches, as in the
/// reference) and <c>map(attribute=..., default=...)</c>.
/// </summary>
internal static class ArrayCalls
{
    public static Value Apply(Interpreter interpreter, ArrayValue operand, string name, List<Node> argNodes, Scope scope)
    {
        switch (name)
        {
            case "sort":
                return Sort(operand, interpreter.EvaluateArguments(argNodes, scope));
            case "selectattr" or "rejectattr":
                return SelectAttribute(interpreter, operand, name, argNodes, scope);
            case "map":
                var (_, keywords) = interpreter.EvaluateArguments(argNodes, scope);
                if (!keywords.TryGetValue("attribute", out var attribute))
                {
                    throw new TemplateError("`map` expressions without `attribute` set are not currently supported.", unsupported: true);
                }

                if (attribute is not StringValue path)
                {
                    throw new TemplateError("attribute must be a string");
                }

                var fallback = keywords.GetValueOrDefault("default") ?? UndefinedValue.Instance;
                return new ArrayValue(operand.Items.Select(item => item is ObjectValue or NamespaceValue
                    ? AttributePath(item, path.Text) is UndefinedValue ? fallback : AttributePath(item, path.Text)
                    : throw new TemplateError("items in map must be an object")).ToList());
            default:
                throw Filters.Unknown("ArrayValue", name);
        }
    }

    /// <summary>A dotted path into mappings and lists (<c>"function.name"</c>, <c>"items.0"</c>).</summary>
    public static Value AttributePath(Value item, string path)
    {
        var value = item;
        foreach (var part in path.Split('.'))
        {
            value = value switch
            {
                ObjectValue o => o.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance,
                NamespaceValue n => n.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance,
                ArrayValue a when JsNumber.ParseInt(part) is { } index && index >= 0 && index < a.Items.Count => a.Items[(int)index],
                _ => UndefinedValue.Instance,
            };
            if (value is UndefinedValue)
            {
                return value;
            }
        }

        return value;
    }

    private static ArrayValue Sort(ArrayValue operand, (List<Value> Positional, OrderedDictionary<string, Value> Keywords) args)
    {
        if (ObjectMethods.Argument(args.Positional, 0, args.Keywords, "reverse", BooleanValue.False) is not BooleanValue reverse)
        {
            throw new TemplateError("reverse must be a boolean");
        }

        if (ObjectMethods.Argument(args.Positional, 1, args.Keywords, "case_sensitive", BooleanValue.False) is not BooleanValue caseSensitive)
        {
            throw new TemplateError("case_sensitive must be a boolean");
        }

        var attribute = ObjectMethods.Argument(args.Positional, 2, args.Keywords, "attribute", NullValue.Instance);
        Func<Value, Value> key = attribute switch
        {
            NullValue => v => v,
            StringValue s => v => AttributePath(v, s.Text),
            IntegerValue i => v => AttributePath(v, JsNumber.ToString(i.Number)),
            _ => throw new TemplateError("attribute must be a string, integer, or null"),
        };
        return new ArrayValue(ValueComparer.StableSort(operand.Items, (a, b) =>
        {
            var result = ValueComparer.Compare(key(a), key(b), caseSensitive.Flag);
            return reverse.Flag ? -result : result;
        }));
    }

    private static ArrayValue SelectAttribute(Interpreter interpreter, ArrayValue operand, string name, List<Node> argNodes, Scope scope)
    {
        if (operand.Items.Any(item => item is not (ObjectValue or NamespaceValue)))
        {
            throw new TemplateError($"`{name}` can only be applied to array of objects");
        }

        if (argNodes.Any(x => x is not StringNode))
        {
            throw new TemplateError($"arguments of `{name}` must be strings", unsupported: true);
        }

        var args = argNodes.Select(x => ((StringNode)x).Value).ToList();
        if (args.Count == 0)
        {
            throw new TemplateError($"`{name}` needs an attribute name");
        }

        if (args.Count > 1 && !TemplateTests.Exists(args[1]))
        {
            throw new TemplateError($"Unknown test: {args[1]}", unsupported: true);
        }

        Value? compareWith = args.Count > 2 ? new StringValue(args[2]) : null;
        var select = name == "selectattr";
        return new ArrayValue(operand.Items.Where(item =>
        {
            var entries = item is ObjectValue o ? o.Entries : ((NamespaceValue)item).Entries;
            var result = entries.TryGetValue(args[0], out var a)
                && (args.Count > 1 ? TemplateTests.Run(args[1], a, compareWith ?? UndefinedValue.Instance) : a.IsTruthy);
            return select ? result : !result;
        }).ToList());
    }
}
