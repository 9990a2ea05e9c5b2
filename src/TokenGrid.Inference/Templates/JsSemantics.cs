using System.Globalization;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// The JavaScript semantics that leak through @huggingface/jinja: <c>==</c> compares the underlying JavaScript values
/// loosely, <c>in</c> strictly, and <c>~</c> / <c>+</c> concatenate the values' JavaScript <c>toString()</c>.
/// </summary>
internal static class JsSemantics
{
    /// <summary>The underlying JavaScript value's <c>toString()</c> (<c>[object Map]</c> for mappings).</summary>
    public static string RawString(Value value) => value switch
    {
        IntegerValue i => JsNumber.ToString(i.Number),
        FloatValue f => JsNumber.ToString(f.Number),
        StringValue s => s.Text,
        BooleanValue b => b.Render(),
        NullValue => "null",
        UndefinedValue => "undefined",
        ObjectValue or NamespaceValue => "[object Map]",
        ArrayValue a => string.Join(",", a.Items.Select(x => x.Render())),
        _ => throw new TemplateError($"Cannot convert {value.TypeName} to text", unsupported: true),
    };

    /// <summary>How <c>Array.prototype.join</c> prints one raw value: null and undefined print as nothing.</summary>
    public static string JoinText(Value value) => value is NullValue or UndefinedValue ? string.Empty : RawString(value);

    /// <summary>JavaScript <c>==</c> on the underlying values.</summary>
    public static bool LooseEquals(Value a, Value b)
    {
        while (true)
        {
            if (a is NullValue or UndefinedValue || b is NullValue or UndefinedValue)
            {
                return a is NullValue or UndefinedValue && b is NullValue or UndefinedValue;
            }

            if (IsPrimitive(a) && IsPrimitive(b) && Kind(a) == Kind(b))
            {
                return StrictEquals(a, b);
            }

            if (a is BooleanValue ab)
            {
                a = new IntegerValue(ab.Flag ? 1 : 0);
                continue;
            }

            if (b is BooleanValue bb)
            {
                b = new IntegerValue(bb.Flag ? 1 : 0);
                continue;
            }

            if (!IsPrimitive(a) && !IsPrimitive(b))
            {
                return ReferenceEquals(Identity(a), Identity(b));
            }

            if (!IsPrimitive(a))
            {
                a = new StringValue(RawString(a));
                continue;
            }

            if (!IsPrimitive(b))
            {
                b = new StringValue(RawString(b));
                continue;
            }

            return Number(a) == Number(b);
        }
    }

    /// <summary>JavaScript <c>===</c> on the underlying values.</summary>
    public static bool StrictEquals(Value a, Value b) => (a, b) switch
    {
        (IntegerValue or FloatValue, IntegerValue or FloatValue) => Number(a) == Number(b),
        (StringValue x, StringValue y) => x.Text == y.Text,
        (BooleanValue x, BooleanValue y) => x.Flag == y.Flag,
        (NullValue, NullValue) or (UndefinedValue, UndefinedValue) => true,
        _ => !IsPrimitive(a) && !IsPrimitive(b) && ReferenceEquals(Identity(a), Identity(b)),
    };

    /// <summary>SameValueZero (what a JavaScript <c>Set</c> uses): strict equality, except NaN equals NaN.</summary>
    public static bool SameValueZero(Value a, Value b) =>
        StrictEquals(a, b) || (a is IntegerValue or FloatValue && b is IntegerValue or FloatValue && double.IsNaN(Number(a)) && double.IsNaN(Number(b)));

    private static bool IsPrimitive(Value v) => v is IntegerValue or FloatValue or StringValue or BooleanValue or NullValue or UndefinedValue;

    private static int Kind(Value v) => v switch
    {
        IntegerValue or FloatValue => 0,
        StringValue => 1,
        BooleanValue => 2,
        _ => 3,
    };

    private static object Identity(Value v) => v switch
    {
        ObjectValue o => o.Entries,
        NamespaceValue n => n.Entries,
        ArrayValue a => a.Items,
        _ => v,
    };

    private static double Number(Value v) => v switch
    {
        IntegerValue i => i.Number,
        FloatValue f => f.Number,
        StringValue s => StringToNumber(s.Text),
        _ => double.NaN,
    };

    private static double StringToNumber(string text)
    {
        var s = JsText.Trim(text);
        if (s.Length == 0)
        {
            return 0;
        }

        if (s.Length > 2 && s[0] == '0' && s[1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            var radix = s[1] is 'x' or 'X' ? 16 : s[1] is 'o' or 'O' ? 8 : 2;
            try
            {
                return Convert.ToInt64(s[2..], radix);
            }
            catch (FormatException)
            {
                return double.NaN;
            }
        }

        if (s is "Infinity" or "+Infinity" or "-Infinity")
        {
            return s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        }

        var decimalLiteral = s.All(c => JsText.IsDigit(c) || c is '.' or 'e' or 'E' or '+' or '-');
        return decimalLiteral && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;
    }
}
