namespace TokenGrid.Inference.Templates;

/// <summary>
/// The global scope of every render: <c>true</c>/<c>false</c>/<c>none</c> (and their title-case forms),
/// <c>namespace</c>, <c>range</c>, <c>raise_exception</c> and <c>strftime_now</c>, as @huggingface/jinja defines them.
/// </summary>
internal static class Globals
{
    public static Scope Create(TimeProvider clock)
    {
        var scope = new Scope();
        scope.Set("namespace", new FunctionValue("namespace", (args, _) => Namespace(args)));
        scope.Set("false", BooleanValue.False);
        scope.Set("true", BooleanValue.True);
        scope.Set("none", NullValue.Instance);
        scope.Set("raise_exception", new FunctionValue("raise_exception", (args, _) =>
            throw new RaiseSignal(args.Count == 0 || args[0] is UndefinedValue ? string.Empty : JsSemantics.RawString(args[0]))));
        scope.Set("range", new FunctionValue("range", (args, _) => Range(args)));
        scope.Set("strftime_now", new FunctionValue("strftime_now", (args, _) =>
            args.Count > 0 && args[0] is StringValue format
                ? new StringValue(Strftime.Format(clock.GetLocalNow(), format.Text))
                : throw new TemplateError("strftime_now expects a format string")));
        scope.Set("True", BooleanValue.True);
        scope.Set("False", BooleanValue.False);
        scope.Set("None", NullValue.Instance);
        return scope;
    }

    private static NamespaceValue Namespace(List<Value> args)
    {
        var (positional, keywords) = ObjectMethods.SplitArguments(args);
        if (positional.Count > 1)
        {
            throw new TemplateError($"namespace expected at most 1 argument, got {positional.Count}");
        }

        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (positional.Count == 1)
        {
            switch (positional[0])
            {
                case ObjectValue o:
                    foreach (var (key, value) in o.Entries)
                    {
                        entries[key] = value;
                    }

                    break;
                case ArrayValue a:
                    foreach (var pair in a.Items)
                    {
                        if (pair is not ArrayValue { Items: [StringValue key, var value] })
                        {
                            throw new TemplateError("namespace expected an object or an iterable of [key, value] pairs");
                        }

                        entries[key.Text] = value;
                    }

                    break;
                default:
                    throw new TemplateError($"'{positional[0].TypeName}' object is not iterable");
            }
        }

        foreach (var (key, value) in keywords)
        {
            entries[key] = value;
        }

        return new NamespaceValue(entries);
    }

    private static ArrayValue Range(List<Value> args)
    {
        double Number(Value v) => v switch
        {
            IntegerValue i => i.Number,
            FloatValue f => f.Number,
            _ => throw new TemplateError($"range() expects numbers, got {v.TypeName}", unsupported: true),
        };

        if (args.Count is 0 or > 3)
        {
            throw new TemplateError("range() expects 1 to 3 numbers");
        }

        var (start, stop) = args.Count == 1 ? (0, Number(args[0])) : (Number(args[0]), Number(args[1]));
        var step = args.Count == 3 ? Number(args[2]) : 1;
        if (step == 0)
        {
            throw new TemplateError("range() step must not be zero");
        }

        var items = new List<Value>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            items.Add(i % 1 == 0 ? new IntegerValue(i) : new FloatValue(i));
        }

        return new ArrayValue(items);
    }
}
