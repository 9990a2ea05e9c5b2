namespace TokenGrid.Inference.Templates;

/// <summary>Binary and unary operators on values (after <c>and</c>/<c>or</c> short-circuiting), as the reference computes them.</summary>
internal static class Operators
{
    public static Value Binary(string op, Value left, Value right)
    {
        switch (op)
        {
            case "==":
                return BooleanValue.Of(JsSemantics.LooseEquals(left, right));
            case "!=":
                return BooleanValue.Of(!JsSemantics.LooseEquals(left, right));
        }

        if (left is UndefinedValue || right is UndefinedValue)
        {
            return right is UndefinedValue && op is "in" or "not in"
                ? BooleanValue.Of(op == "not in")
                : throw new TemplateError($"Cannot perform operation {op} on undefined values");
        }

        if (left is NullValue || right is NullValue)
        {
            throw new TemplateError("Cannot perform operation on null values");
        }

        if (op == "~")
        {
            return new StringValue(JsSemantics.RawString(left) + JsSemantics.RawString(right));
        }

        if (op == "**" && NumericLike(left) is { } a && NumericLike(right) is { } b)
        {
            return Power(left, right, a, b);
        }

        if (left is IntegerValue or FloatValue && right is IntegerValue or FloatValue && Arithmetic(op, left, right) is { } result)
        {
            return result;
        }

        if (left is ArrayValue la && right is ArrayValue ra)
        {
            if (op == "+")
            {
                return new ArrayValue([.. la.Items, .. ra.Items]);
            }
        }
        else if (right is ArrayValue array && op is "in" or "not in")
        {
            var member = array.Items.Any(x => JsSemantics.StrictEquals(x, left));
            return BooleanValue.Of(member == (op == "in"));
        }

        if (op == "+" && (left is StringValue || right is StringValue))
        {
            return new StringValue(JsSemantics.RawString(left) + JsSemantics.RawString(right));
        }

        if (op is "in" or "not in")
        {
            if (left is StringValue ls && right is StringValue rs)
            {
                return BooleanValue.Of(rs.Text.Contains(ls.Text, StringComparison.Ordinal) == (op == "in"));
            }

            if (left is StringValue key && right is ObjectValue o)
            {
                return BooleanValue.Of(o.Entries.ContainsKey(key.Text) == (op == "in"));
            }
        }

        throw new TemplateError($"Unknown operator \"{op}\" between {left.TypeName} and {right.TypeName}");
    }

    public static Value Unary(string op, Value operand)
    {
        if (op == "not")
        {
            return BooleanValue.Of(!operand.IsTruthy);
        }

        var sign = op == "-" ? -1 : 1;
        return operand switch
        {
            FloatValue f => new FloatValue(sign * f.Number),
            IntegerValue i => new IntegerValue(sign * i.Number),
            BooleanValue b => new IntegerValue(sign * (b.Flag ? 1 : 0)),
            _ => throw new TemplateError($"Unknown operator \"{op}\" for {operand.TypeName}"),
        };
    }

    private static Value Power(Value left, Value right, double a, double b)
    {
        if (a == 0 && b < 0)
        {
            throw new TemplateError("0.0 cannot be raised to a negative power");
        }

        var result = Math.Pow(a, b);
        if (!double.IsFinite(result))
        {
            throw new TemplateError("Exponentiation result is not a finite real number");
        }

        return left is FloatValue || right is FloatValue || b < 0 ? new FloatValue(result) : new IntegerValue(result);
    }

    private static Value? Arithmetic(string op, Value left, Value right)
    {
        var a = left is IntegerValue li ? li.Number : ((FloatValue)left).Number;
        var b = right is IntegerValue ri ? ri.Number : ((FloatValue)right).Number;
        var isFloat = left is FloatValue || right is FloatValue;
        Value Number(double x) => isFloat ? new FloatValue(x) : new IntegerValue(x);
        return op switch
        {
            "+" => Number(a + b),
            "-" => Number(a - b),
            "*" => Number(a * b),
            "/" => new FloatValue(a / b),
            "//" => Number(Math.Floor(a / b)),
            "%" => Number(a % b),
            "<" => BooleanValue.Of(a < b),
            ">" => BooleanValue.Of(a > b),
            ">=" => BooleanValue.Of(a >= b),
            "<=" => BooleanValue.Of(a <= b),
            _ => null,
        };
    }

    private static double? NumericLike(Value v) => v switch
    {
        IntegerValue i => i.Number,
        FloatValue f => f.Number,
        BooleanValue b => b.Flag ? 1 : 0,
        _ => null,
    };
}
