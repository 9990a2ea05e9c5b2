namespace TokenGrid.Inference.Templates;

/// <summary>
/// The <c>is</c> tests @huggingface/jinja knows. None takes an argument in <c>x is test</c> form; <c>equalto</c> /
/// <c>eq</c> compare only inside <c>selectattr</c> / <c>rejectattr</c>.
/// </summary>
internal static class TemplateTests
{
    public static bool Exists(string name) => name is "boolean" or "callable" or "odd" or "even" or "false" or "true" or "none"
        or "string" or "number" or "integer" or "iterable" or "mapping" or "sequence" or "lower" or "upper" or "defined"
        or "undefined" or "equalto" or "eq";

    public static bool Run(string name, Value operand, Value? argument = null) => name switch
    {
        "boolean" => operand is BooleanValue,
        "callable" => operand is FunctionValue,
        "odd" => Integer(operand, name) % 2 != 0,
        "even" => Integer(operand, name) % 2 == 0,
        "false" => operand is BooleanValue { Flag: false },
        "true" => operand is BooleanValue { Flag: true },
        "none" => operand is NullValue,
        "string" => operand is StringValue,
        "number" => operand is IntegerValue or FloatValue,
        "integer" => operand is IntegerValue,
        "iterable" => operand.TypeName is "ArrayValue" or "StringValue",
        "mapping" => operand is ObjectValue,
        "sequence" => operand is ArrayValue or ObjectValue or StringValue,
        "lower" => operand is StringValue s && s.Text == JsText.ToLower(s.Text),
        "upper" => operand is StringValue s && s.Text == JsText.ToUpper(s.Text),
        "defined" => operand is not UndefinedValue,
        "undefined" => operand is UndefinedValue,
        "equalto" or "eq" => argument is not null
            ? JsSemantics.StrictEquals(operand, argument)
            : throw new TemplateError($"The '{name}' test needs a value to compare with", unsupported: true),
        _ => throw new TemplateError($"Unknown test: {name}", unsupported: true),
    };

    private static double Integer(Value operand, string name) =>
        operand is IntegerValue i ? i.Number : throw new TemplateError($"cannot {name} on {operand.TypeName}");
}
