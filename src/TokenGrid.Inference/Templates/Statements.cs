namespace TokenGrid.Inference.Templates;

/// <summary><c>{% set %}</c> (plain, tuple, namespace attribute and block forms), <c>{% macro %}</c> and <c>{% call %}</c>.</summary>
internal static class Statements
{
    public static Value Set(Interpreter interpreter, SetNode node, Scope scope)
    {
        var value = node.Value is { } expression
            ? interpreter.Evaluate(expression, scope)
            : new StringValue(interpreter.RenderBlock(node.Body, scope));
        switch (node.Target)
        {
            case IdentifierNode id:
                scope.Set(id.Name, value);
                break;
            case TupleNode tuple:
                if (value is not ArrayValue array)
                {
                    throw new TemplateError($"Cannot unpack non-iterable type in set: {value.TypeName}");
                }

                if (array.Items.Count != tuple.Items.Count)
                {
                    throw new TemplateError($"Too {(tuple.Items.Count > array.Items.Count ? "few" : "many")} items to unpack in set");
                }

                for (var i = 0; i < tuple.Items.Count; i++)
                {
                    var name = tuple.Items[i] as IdentifierNode ?? throw new TemplateError("Cannot unpack to non-identifier in set");
                    scope.Set(name.Name, array.Items[i]);
                }

                break;
            case MemberNode member:
                if (interpreter.Evaluate(member.Target, scope) is not NamespaceValue ns)
                {
                    throw new TemplateError("cannot assign attribute on non-namespace object");
                }

                if (member.Property is not IdentifierNode property || member.Computed)
                {
                    throw new TemplateError("Cannot assign to member with non-identifier property");
                }

                ns.Entries[property.Name] = value;
                break;
            default:
                throw new TemplateError("Invalid left-hand side in set");
        }

        return NullValue.Instance;
    }

    public static Value DefineMacro(Interpreter interpreter, MacroNode node, Scope scope)
    {
        var special = MacroArguments.SpecialNames(node.Body);
        scope.Set(node.Name, new FunctionValue(node.Name, (args, callerScope) =>
        {
            var macroScope = new Scope(callerScope);
            MacroArguments.Bind(interpreter, $"'{node.Name}'", node.Parameters, special, args, macroScope);
            return new StringValue(interpreter.RenderBlock(node.Body, macroScope));
        }));
        return NullValue.Instance;
    }

    public static Value CallBlock(Interpreter interpreter, CallBlockNode node, Scope scope)
    {
        var special = MacroArguments.SpecialNames(node.Body);
        var caller = new FunctionValue("caller", (args, _) =>
        {
            var blockScope = new Scope(scope);
            MacroArguments.Bind(interpreter, "None", node.CallerParameters, special, args, blockScope);
            return new StringValue(interpreter.RenderBlock(node.Body, blockScope));
        });
        var (args, keywords) = interpreter.EvaluateArguments(node.Call.Arguments, scope);
        args.Add(new KeywordArgumentsValue(keywords));
        var callee = interpreter.Evaluate(node.Call.Callee, scope);
        if (callee is not FunctionValue function)
        {
            throw new TemplateError($"Cannot call something that is not a function: got {callee.TypeName}");
        }

        var callScope = new Scope(scope);
        callScope.Set("caller", caller);
        return function.Invoke(args, callScope);
    }
}
