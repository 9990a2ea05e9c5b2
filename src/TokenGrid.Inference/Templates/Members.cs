namespace TokenGrid.Inference.Templates;

/// <summary>
/// <c>x.name</c>, <c>x[key]</c>, <c>x[index]</c> (negative counts from the end) and slices. A missing attribute is
/// undefined; so is any attribute of undefined or none (as in the reference, which does not raise there).
/// </summary>
internal static class Members
{
    public static Value Get(Value target, Value property)
    {
        Value? value;
        switch (target)
        {
            case ObjectValue or NamespaceValue:
                if (property is not StringValue key)
                {
                    throw new TemplateError($"Cannot access property with non-string: got {property.TypeName}");
                }

                value = target is ObjectValue o
                    ? o.Entries.GetValueOrDefault(key.Text) ?? ObjectMethods.Get(o, key.Text)
                    : ((NamespaceValue)target).Entries.GetValueOrDefault(key.Text);
                break;
            case ArrayValue or StringValue:
                value = property switch
                {
                    IntegerValue index => At(target, index.Number),
                    StringValue name => target is StringValue s ? StringMethods.Get(s, name.Text) : name.Text == "length" ? new IntegerValue(((ArrayValue)target).Items.Count) : null,
                    _ => throw new TemplateError($"Cannot access property with non-string/non-number: got {property.TypeName}"),
                };
                break;
            default:
                value = property is StringValue
                    ? null
                    : throw new TemplateError($"Cannot access property with non-string: got {property.TypeName}");
                break;
        }

        return value ?? UndefinedValue.Instance;
    }

    public static Value Slice(Value target, Value start, Value stop, Value step)
    {
        if (target is not (ArrayValue or StringValue))
        {
            throw new TemplateError("Slice object must be an array or string");
        }

        double? Bound(Value v, string name) => v switch
        {
            IntegerValue i => i.Number,
            UndefinedValue => null,
            _ => throw new TemplateError($"Slice {name} must be numeric or undefined"),
        };

        var (from, to, by) = (Bound(start, "start"), Bound(stop, "stop"), Bound(step, "step") ?? 1);
        if (target is ArrayValue array)
        {
            return new ArrayValue(SliceList(array.Items, from, to, by));
        }

        return new StringValue(string.Concat(SliceList(JsText.CodePoints(((StringValue)target).Text), from, to, by)));
    }

    private static Value? At(Value target, double index)
    {
        var length = target is ArrayValue a ? a.Items.Count : ((StringValue)target).Text.Length;
        var i = (long)Math.Truncate(index);
        i = i < 0 ? length + i : i;
        if (i < 0 || i >= length)
        {
            return null;
        }

        return target is ArrayValue array ? array.Items[(int)i] : new StringValue(((StringValue)target).Text[(int)i].ToString());
    }

    // The reference's Python-style slice (utils.ts), including its clamping for negative steps.
    private static List<T> SliceList<T>(List<T> items, double? start, double? stop, double step)
    {
        if (step == 0)
        {
            return []; // the reference's loop never runs for a zero step
        }

        var n = items.Count;
        double from, to;
        if (step > 0)
        {
            from = start ?? 0;
            from = from < 0 ? Math.Max(n + from, 0) : Math.Min(from, n);
            to = stop ?? n;
            to = to < 0 ? Math.Max(n + to, 0) : Math.Min(to, n);
        }
        else
        {
            from = start ?? n - 1;
            from = from < 0 ? Math.Max(n + from, -1) : Math.Min(from, n - 1);
            to = stop ?? -1;
            to = to < -1 ? Math.Max(n + to, -1) : Math.Min(to, n - 1);
        }

        var direction = Math.Sign(step);
        var result = new List<T>();
        for (var i = from; direction * i < direction * to; i += step)
        {
            result.Add(items[(int)i]);
        }

        return result;
    }
}
