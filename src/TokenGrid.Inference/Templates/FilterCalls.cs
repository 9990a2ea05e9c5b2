namespace TokenGrid.Inference.Templates;

/// <summary>
/// Filters called with arguments (<c>x | tojson(indent=2)</c>, <c>| join(", ")</c>, <c>| default("x")</c>,
/// <c>| selectattr("role", "equalto", "user")</c>, <c>| map(attribute="name")</c>, …), as the reference implements them.
/// </summary>
internal static class FilterCalls
{
    public static Value Apply(Interpreter interpreter, Value operand, string name, List<Node> argNodes, Scope scope)
    {
        switch (name)
        {
            case "tojson":
                return new StringValue(TemplateJson.Serialize(operand, JsonOptions(interpreter.EvaluateArguments(argNodes, scope).Keywords)));
            case "join":
                var parts = operand switch
                {
                    StringValue s => JsText.CodePoints(s.Text),
                    ArrayValue a => a.Items.Select(JsSemantics.JoinText).ToList(),
                    _ => throw new TemplateError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}"),
                };
                var (joinArgs, joinKeywords) = interpreter.EvaluateArguments(argNodes, scope);
                return ObjectMethods.Argument(joinArgs, 0, joinKeywords, "separator", StringValue.Empty) is StringValue separator
                    ? new StringValue(string.Join(separator.Text, parts))
                    : throw new TemplateError("separator must be a string");
            case "int" or "float":
                return ToNumber(interpreter.EvaluateArguments(argNodes, scope), operand, name);
            case "default":
                var (args, keywords) = interpreter.EvaluateArguments(argNodes, scope);
                var fallback = args.Count > 0 ? args[0] : StringValue.Empty;
                if (ObjectMethods.Argument(args, 1, keywords, "boolean", BooleanValue.False) is not BooleanValue boolean)
                {
                    throw new TemplateError("`default` filter flag must be a boolean");
                }

                return operand is UndefinedValue || (boolean.Flag && !operand.IsTruthy) ? fallback : operand;
        }

        return operand switch
        {
            ArrayValue array => ArrayCalls.Apply(interpreter, array, name, argNodes, scope),
            StringValue s when name == "indent" => Indent(s, interpreter.EvaluateArguments(argNodes, scope)),
            StringValue s when name == "replace" => Replace(s, interpreter.EvaluateArguments(argNodes, scope)),
            StringValue => throw Filters.Unknown("StringValue", name),
            ObjectValue o when ObjectMethods.Get(o, name) is FunctionValue builtin => CallBuiltin(builtin, interpreter.EvaluateArguments(argNodes, scope)),
            ObjectValue => throw Filters.Unknown("ObjectValue", name),
            _ => throw new TemplateError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}", unsupported: !Filters.Known.Contains(name)),
        };
    }

    private static JsonStyle JsonOptions(OrderedDictionary<string, Value> keywords)
    {
        var indent = keywords.GetValueOrDefault("indent") ?? NullValue.Instance;
        if (indent is not (IntegerValue or NullValue))
        {
            throw new TemplateError("If set, indent must be a number");
        }

        if ((keywords.GetValueOrDefault("ensure_ascii") ?? BooleanValue.False) is not BooleanValue ensureAscii)
        {
            throw new TemplateError("If set, ensure_ascii must be a boolean");
        }

        if ((keywords.GetValueOrDefault("sort_keys") ?? BooleanValue.False) is not BooleanValue sortKeys)
        {
            throw new TemplateError("If set, sort_keys must be a boolean");
        }

        (string, string)? separators = null;
        switch (keywords.GetValueOrDefault("separators") ?? NullValue.Instance)
        {
            case ArrayValue { Items: [StringValue item, StringValue key] }:
                separators = (item.Text, key.Text);
                break;
            case ArrayValue:
                throw new TemplateError("separators must be a tuple of two strings");
            case not NullValue:
                throw new TemplateError("If set, separators must be a tuple of two strings");
        }

        return new JsonStyle(indent is IntegerValue i ? (int)i.Number : null, ensureAscii.Flag, separators, sortKeys.Flag);
    }

    private static Value ToNumber((List<Value> Positional, OrderedDictionary<string, Value> Keywords) args, Value operand, string name)
    {
        var isInt = name == "int";
        var fallback = ObjectMethods.Argument(args.Positional, 0, args.Keywords, "default", isInt ? new IntegerValue(0) : new FloatValue(0));
        return operand switch
        {
            StringValue s => (isInt ? JsNumber.ParseInt(s.Text) : JsNumber.ParseFloat(s.Text)) is { } n
                ? isInt ? new IntegerValue(n) : new FloatValue(n)
                : fallback,
            IntegerValue or FloatValue => operand,
            BooleanValue b => isInt ? new IntegerValue(b.Flag ? 1 : 0) : new FloatValue(b.Flag ? 1 : 0),
            _ => throw new TemplateError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}"),
        };
    }

    private static StringValue Indent(StringValue s, (List<Value> Positional, OrderedDictionary<string, Value> Keywords) args)
    {
        if (ObjectMethods.Argument(args.Positional, 0, args.Keywords, "width", new IntegerValue(4)) is not IntegerValue width)
        {
            throw new TemplateError("width must be a number");
        }

        var first = ObjectMethods.Argument(args.Positional, 1, args.Keywords, "first", BooleanValue.False);
        var blank = ObjectMethods.Argument(args.Positional, 2, args.Keywords, "blank", BooleanValue.False);
        return new StringValue(Filters.Indent(s.Text, new string(' ', Math.Max(0, (int)width.Number)), first.IsTruthy, blank.IsTruthy));
    }

    private static Value Replace(StringValue s, (List<Value> Positional, OrderedDictionary<string, Value> Keywords) args)
    {
        var method = (FunctionValue)StringMethods.Get(s, "replace")!;
        return method.Invoke([.. args.Positional, new KeywordArgumentsValue(args.Keywords)], new Scope());
    }

    private static Value CallBuiltin(FunctionValue builtin, (List<Value> Positional, OrderedDictionary<string, Value> Keywords) args)
    {
        var values = args.Positional;
        if (args.Keywords.Count > 0)
        {
            values.Add(new KeywordArgumentsValue(args.Keywords));
        }

        return builtin.Invoke(values, new Scope());
    }
}
