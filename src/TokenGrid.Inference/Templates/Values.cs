namespace TokenGrid.Inference.Templates;

/// <summary>
/// A runtime value, mirroring @huggingface/jinja's runtime types one for one (its <c>type</c> names are kept in
/// <see cref="TypeName"/> because they appear in its error messages). Numbers are doubles, as in JavaScript.
/// </summary>
internal abstract class Value
{
    public abstract string TypeName { get; }

    /// <summary>Python-style truthiness, as the reference computes it.</summary>
    public virtual bool IsTruthy => true;

    /// <summary>How the value prints inside <c>{{ }}</c> (the reference's <c>toString()</c>).</summary>
    public abstract string Render();
}

internal sealed class IntegerValue(double value) : Value
{
    public double Number { get; } = value;

    public override string TypeName => "IntegerValue";

    public override bool IsTruthy => Number != 0 && !double.IsNaN(Number);

    public override string Render() => JsNumber.ToString(Number);
}

internal sealed class FloatValue(double value) : Value
{
    public double Number { get; } = value;

    public override string TypeName => "FloatValue";

    public override bool IsTruthy => Number != 0 && !double.IsNaN(Number);

    public override string Render() => JsNumber.FloatToString(Number);
}

internal sealed class StringValue(string value) : Value
{
    public static readonly StringValue Empty = new(string.Empty);

    public string Text { get; } = value;

    public override string TypeName => "StringValue";

    public override bool IsTruthy => Text.Length > 0;

    public override string Render() => Text;
}

internal sealed class BooleanValue : Value
{
    public static readonly BooleanValue True = new(true);
    public static readonly BooleanValue False = new(false);

    private BooleanValue(bool value) => Flag = value;

    public bool Flag { get; }

    public override string TypeName => "BooleanValue";

    public override bool IsTruthy => Flag;

    public static BooleanValue Of(bool value) => value ? True : False;

    public override string Render() => Flag ? "true" : "false";
}

internal sealed class NullValue : Value
{
    public static readonly NullValue Instance = new();

    public override string TypeName => "NullValue";

    public override bool IsTruthy => false;

    public override string Render() => "null";
}

internal sealed class UndefinedValue : Value
{
    public static readonly UndefinedValue Instance = new();

    public override string TypeName => "UndefinedValue";

    public override bool IsTruthy => false;

    public override string Render() => "undefined";
}

/// <summary>A mapping with insertion-ordered string keys (a JavaScript <c>Map</c>).</summary>
internal class ObjectValue(OrderedDictionary<string, Value> entries) : Value
{
    public OrderedDictionary<string, Value> Entries { get; } = entries;

    public override string TypeName => "ObjectValue";

    public override bool IsTruthy => Entries.Count > 0;

    public override string Render() => TemplateJson.Serialize(this, JsonStyle.Default, undefinedAsNull: false);
}

/// <summary>Keyword arguments collected at a call site; an <see cref="ObjectValue"/> to the callee.</summary>
internal sealed class KeywordArgumentsValue(OrderedDictionary<string, Value> entries) : ObjectValue(entries)
{
    public override string TypeName => "KeywordArgumentsValue";
}

/// <summary>What <c>namespace(...)</c> returns: attributes that <c>{% set ns.x = ... %}</c> may change.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, Value> entries) : Value
{
    public OrderedDictionary<string, Value> Entries { get; } = entries;

    public override string TypeName => "NamespaceValue";

    public override string Render() => TemplateJson.Serialize(this, JsonStyle.Default, undefinedAsNull: false);
}

internal class ArrayValue(List<Value> items) : Value
{
    public List<Value> Items { get; } = items;

    public override string TypeName => "ArrayValue";

    public override bool IsTruthy => Items.Count > 0;

    public override string Render() => TemplateJson.Serialize(this, JsonStyle.Default, undefinedAsNull: false);
}

internal sealed class TupleValue(List<Value> items) : ArrayValue(items)
{
    public override string TypeName => "TupleValue";
}

/// <summary>A callable: a macro, a global such as <c>range</c>, or a method such as <c>str.split</c>.</summary>
internal sealed class FunctionValue(string name, Func<List<Value>, Scope, Value> invoke) : Value
{
    public string Name { get; } = name;

    public Func<List<Value>, Scope, Value> Invoke { get; } = invoke;

    public override string TypeName => "FunctionValue";

    public override string Render() => throw new TemplateError($"Cannot render function '{Name}' as text", unsupported: true);
}
