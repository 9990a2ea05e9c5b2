namespace TokenGrid.Inference.Templates;

/// <summary>
/// A variable scope. Loops, macros and call blocks open a child scope; <c>set</c> writes to the current one, so a
/// <c>set</c> inside a loop is not seen after it (use <c>namespace()</c>), as in Jinja.
/// </summary>
internal sealed class Scope(Scope? parent = null)
{
    private readonly Dictionary<string, Value> _variables = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public void Set(string name, Value value) => _variables[name] = value;

    public Value Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out var value))
            {
                return value;
            }
        }

        return UndefinedValue.Instance;
    }
}

/// <summary>An evaluation error not yet tied to a place in the template; the interpreter adds the location.</summary>
internal sealed class TemplateError(string message, bool unsupported = false) : Exception(message)
{
    public bool Unsupported { get; } = unsupported;
}

/// <summary>Thrown by <c>raise_exception(message)</c>.</summary>
internal sealed class RaiseSignal(string message) : Exception(message);

/// <summary>Unwinds to the innermost loop for <c>{% break %}</c> or <c>{% continue %}</c>.</summary>
internal sealed class LoopSignal(bool isBreak) : Exception
{
    public bool IsBreak { get; } = isBreak;
}
