namespace TokenGrid.Inference.Templates;

/// <summary>
/// Binds a macro's (or call block's) arguments: positional, then by keyword, then defaults evaluated in the macro's
/// scope. Extra arguments are an error unless the body reads <c>varargs</c> / <c>kwargs</c>.
/// </summary>
internal static class MacroArguments
{
    /// <summary>Which of <c>kwargs</c> and <c>varargs</c> the body reads.</summary>
    public static HashSet<string> SpecialNames(List<Node> body)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in body)
        {
            Visit(node, found);
        }

        return found;
    }

    public static void Bind(Interpreter interpreter, string displayName, List<Node> parameters, HashSet<string> special, List<Value> args, Scope scope)
    {
        var positional = args.ToList();
        var keywords = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (positional.Count > 0 && positional[^1] is KeywordArgumentsValue kw)
        {
            positional.RemoveAt(positional.Count - 1);
            keywords = new OrderedDictionary<string, Value>(kw.Entries, StringComparer.Ordinal);
        }

        var pendingDefaults = new List<(string Name, Node Default)>();
        for (var i = 0; i < parameters.Count; i++)
        {
            var (name, defaultValue) = parameters[i] switch
            {
                IdentifierNode id => (id.Name, (Node?)null),
                KeywordArgumentNode p => (p.Name, p.Value),
                _ => throw new TemplateError("Invalid macro parameter"),
            };
            Value? value = i < positional.Count ? positional[i] : null;
            if (value is null && keywords.Remove(name, out var given))
            {
                value = given;
            }

            if (value is null && defaultValue is not null)
            {
                pendingDefaults.Add((name, defaultValue));
            }

            scope.Set(name, value ?? UndefinedValue.Instance);
        }

        if (special.Contains("kwargs"))
        {
            scope.Set("kwargs", new ObjectValue(keywords));
        }
        else if (keywords.Count > 0)
        {
            throw new TemplateError($"macro {displayName} takes no keyword argument '{keywords.GetAt(0).Key}'");
        }

        if (special.Contains("varargs"))
        {
            scope.Set("varargs", new ArrayValue(positional.Skip(parameters.Count).ToList()));
        }
        else if (positional.Count > parameters.Count)
        {
            throw new TemplateError($"macro {displayName} takes not more than {parameters.Count} argument(s)");
        }

        foreach (var (name, defaultValue) in pendingDefaults)
        {
            scope.Set(name, interpreter.Evaluate(defaultValue, scope));
        }
    }

    private static void Visit(Node? node, HashSet<string> found)
    {
        IEnumerable<Node?> children = node switch
        {
            IdentifierNode { Name: "kwargs" or "varargs" } id => Found(id.Name, found),
            IfNode n => [n.Test, .. n.Body, .. n.Alternate],
            ForNode n => [n.Iterable, .. n.Body, .. n.Otherwise],
            SetNode n => [n.Value, .. n.Body],
            MacroNode => [],
            CallBlockNode n => [n.Call, .. n.Body],
            FilterBlockNode n => [n.Filter, .. n.Body],
            ArrayNode n => n.Items,
            TupleNode n => n.Items,
            ObjectNode n => n.Entries.SelectMany(e => new[] { e.Key, e.Value }),
            MemberNode n => n.Computed ? [n.Target, n.Property] : [n.Target],
            SliceNode n => [n.Start, n.Stop, n.Step],
            CallNode n => [n.Callee, .. n.Arguments],
            KeywordArgumentNode n => [n.Value],
            SpreadNode n => [n.Argument],
            BinaryNode n => [n.Left, n.Right],
            UnaryNode n => [n.Operand],
            FilterNode n => [n.Operand, n.Filter is CallNode c ? c : null],
            TestNode n => [n.Operand],
            SelectNode n => [n.Value, n.Test],
            TernaryNode n => [n.Condition, n.WhenTrue, n.WhenFalse],
            _ => [],
        };
        foreach (var child in children)
        {
            Visit(child, found);
        }
    }

    private static IEnumerable<Node?> Found(string name, HashSet<string> found)
    {
        found.Add(name);
        return [];
    }
}
