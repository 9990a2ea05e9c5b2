using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Attributes of strings (<c>s.strip()</c>, <c>s.split(...)</c>, <c>s.length</c>, …) as @huggingface/jinja defines
/// them. Note its quirks, kept for parity: <c>strip</c>, <c>lstrip</c> and <c>rstrip</c> ignore their argument and
/// remove all whitespace; <c>title</c> and <c>capitalize</c> do not lower-case the rest.
/// </summary>
internal static class StringMethods
{
    public static Value? Get(StringValue s, string name)
    {
        var text = s.Text;
        return name switch
        {
            "upper" => Method(name, _ => new StringValue(JsText.ToUpper(text))),
            "lower" => Method(name, _ => new StringValue(JsText.ToLower(text))),
            "strip" => Method(name, _ => new StringValue(JsText.Trim(text))),
            "title" => Method(name, _ => new StringValue(JsText.TitleCase(text))),
            "capitalize" => Method(name, _ => new StringValue(Capitalize(text))),
            "length" => new IntegerValue(text.Length),
            "rstrip" => Method(name, _ => new StringValue(JsText.TrimEnd(text))),
            "lstrip" => Method(name, _ => new StringValue(JsText.TrimStart(text))),
            "startswith" => Method(name, args => Affix(text, args, name, (t, p) => t.StartsWith(p, StringComparison.Ordinal))),
            "endswith" => Method(name, args => Affix(text, args, name, (t, p) => t.EndsWith(p, StringComparison.Ordinal))),
            "split" => Method(name, args => Split(text, args)),
            "replace" => Method(name, args => Replace(text, args)),
            _ => null,
        };
    }

    public static string Capitalize(string text) => text.Length == 0 ? text : JsText.ToUpper(text[..1]) + text[1..];

    /// <summary>Python's <c>str.replace(old, new, count)</c> as the reference implements it.</summary>
    public static string Replace(string text, string oldValue, string newValue, double? count)
    {
        if (count == 0)
        {
            return text;
        }

        var remaining = count is null or < 0 ? double.PositiveInfinity : count.Value;
        var result = new StringBuilder();
        if (oldValue.Length == 0)
        {
            var points = JsText.CodePoints(text);
            for (var i = 0; i <= points.Count; i++)
            {
                if (remaining-- > 0)
                {
                    result.Append(newValue);
                }

                result.Append(i < points.Count ? points[i] : string.Empty);
            }

            return result.ToString();
        }

        var position = 0;
        while (remaining > 0 && text.IndexOf(oldValue, position, StringComparison.Ordinal) is var found && found >= 0)
        {
            result.Append(text, position, found - position).Append(newValue);
            position = found + oldValue.Length;
            remaining--;
        }

        return result.Append(text, position, text.Length - position).ToString();
    }

    private static FunctionValue Method(string name, Func<List<Value>, Value> body) => new(name, (args, _) => body(args));

    private static BooleanValue Affix(string text, List<Value> args, string name, Func<string, string, bool> test)
    {
        if (args.Count == 0)
        {
            throw new TemplateError($"{name}() requires at least one argument");
        }

        switch (args[0])
        {
            case StringValue pattern:
                return BooleanValue.Of(test(text, pattern.Text));
            case ArrayValue patterns:
                foreach (var item in patterns.Items)
                {
                    if (item is not StringValue p)
                    {
                        throw new TemplateError($"{name}() tuple elements must be strings");
                    }

                    if (test(text, p.Text))
                    {
                        return BooleanValue.True;
                    }
                }

                return BooleanValue.False;
            default:
                throw new TemplateError($"{name}() argument must be a string or tuple of strings");
        }
    }

    private static ArrayValue Split(string text, List<Value> args)
    {
        var sep = args.Count > 0 ? args[0] : NullValue.Instance;
        if (sep is not (StringValue or NullValue))
        {
            throw new TemplateError("sep argument must be a string or null");
        }

        if ((args.Count > 1 ? args[1] : new IntegerValue(-1)) is not IntegerValue { Number: var maxSplit })
        {
            throw new TemplateError("maxsplit argument must be a number");
        }

        var parts = new List<string>();
        if (sep is StringValue { Text: var separator })
        {
            if (separator.Length == 0)
            {
                throw new TemplateError("empty separator");
            }

            parts.AddRange(text.Split(separator));
            if (maxSplit != -1 && parts.Count > maxSplit)
            {
                var from = maxSplit < 0 ? Math.Max(parts.Count + (int)maxSplit, 0) : (int)maxSplit;
                var rest = string.Join(separator, parts.Skip(from));
                parts.RemoveRange(from, parts.Count - from);
                parts.Add(rest);
            }
        }
        else
        {
            var trimmed = JsText.TrimStart(text);
            var i = 0;
            while (i < trimmed.Length)
            {
                var start = i;
                while (i < trimmed.Length && !JsText.IsWhitespace(trimmed[i]))
                {
                    i++;
                }

                if (maxSplit != -1 && parts.Count >= maxSplit)
                {
                    parts.Add(trimmed[start..]);
                    break;
                }

                parts.Add(trimmed[start..i]);
                while (i < trimmed.Length && JsText.IsWhitespace(trimmed[i]))
                {
                    i++;
                }
            }
        }

        return new ArrayValue(parts.Select(p => (Value)new StringValue(p)).ToList());
    }

    private static StringValue Replace(string text, List<Value> args)
    {
        if (args.Count < 2)
        {
            throw new TemplateError("replace() requires at least two arguments");
        }

        if (args[0] is not StringValue oldValue || args[1] is not StringValue newValue)
        {
            throw new TemplateError("replace() arguments must be strings");
        }

        var count = args.Count > 2
            ? args[2] is KeywordArgumentsValue kw ? kw.Entries.GetValueOrDefault("count", NullValue.Instance) : args[2]
            : NullValue.Instance;
        return count switch
        {
            IntegerValue n => new StringValue(Replace(text, oldValue.Text, newValue.Text, n.Number)),
            NullValue => new StringValue(Replace(text, oldValue.Text, newValue.Text, null)),
            _ => throw new TemplateError("replace() count argument must be a number or null"),
        };
    }
}
