namespace TokenGrid.Inference.Templates;

/// <summary>
/// <c>{% for target in iterable [if test] %}…{% else %}…{% endfor %}</c> with the <c>loop</c> object (index,
/// index0, revindex, revindex0, first, last, length, previtem, nextitem) and <c>break</c> / <c>continue</c>.
/// Mappings iterate over their keys. As in the reference, the <c>else</c> body runs when no iteration completed.
/// </summary>
internal static class Loops
{
    public static string Run(Interpreter interpreter, ForNode node, Scope environment)
    {
        var scope = new Scope(environment);
        Node? test = null;
        Value iterable;
        if (node.Iterable is SelectNode select)
        {
            iterable = interpreter.Evaluate(select.Value, scope);
            test = select.Test;
        }
        else
        {
            iterable = interpreter.Evaluate(node.Iterable, scope);
        }

        var source = iterable switch
        {
            ArrayValue a => a.Items,
            ObjectValue o => o.Entries.Keys.Select(k => (Value)new StringValue(k)).ToList(),
            _ => throw new TemplateError($"Expected iterable or object type in for loop: got {iterable.TypeName}"),
        };

        var items = new List<Value>();
        foreach (var current in source)
        {
            if (test is not null)
            {
                var loopScope = new Scope(scope);
                Bind(node.Target, current, loopScope);
                if (!interpreter.Evaluate(test, loopScope).IsTruthy)
                {
                    continue;
                }
            }
            else
            {
                CheckUnpack(node.Target, current);
            }

            items.Add(current);
        }

        var text = new System.Text.StringBuilder();
        var noIteration = true;
        for (var i = 0; i < items.Count; i++)
        {
            scope.Set("loop", LoopObject(items, i));
            Bind(node.Target, items[i], scope);
            try
            {
                text.Append(interpreter.RenderBlock(node.Body, scope));
            }
            catch (LoopSignal signal)
            {
                if (signal.IsBreak)
                {
                    break;
                }

                continue;
            }

            noIteration = false;
        }

        if (noIteration)
        {
            text.Append(interpreter.RenderBlock(node.Otherwise, scope));
        }

        return text.ToString();
    }

    private static ObjectValue LoopObject(List<Value> items, int i) => new(new OrderedDictionary<string, Value>(StringComparer.Ordinal)
    {
        ["index"] = new IntegerValue(i + 1),
        ["index0"] = new IntegerValue(i),
        ["revindex"] = new IntegerValue(items.Count - i),
        ["revindex0"] = new IntegerValue(items.Count - i - 1),
        ["first"] = BooleanValue.Of(i == 0),
        ["last"] = BooleanValue.Of(i == items.Count - 1),
        ["length"] = new IntegerValue(items.Count),
        ["previtem"] = i > 0 ? items[i - 1] : UndefinedValue.Instance,
        ["nextitem"] = i < items.Count - 1 ? items[i + 1] : UndefinedValue.Instance,
    });

    private static void CheckUnpack(Node target, Value current)
    {
        if (target is TupleNode tuple)
        {
            UnpackedItems(tuple, current);
        }
    }

    private static List<Value> UnpackedItems(TupleNode tuple, Value current)
    {
        if (current.TypeName != "ArrayValue")
        {
            throw new TemplateError($"Cannot unpack non-iterable type: {current.TypeName}");
        }

        var items = ((ArrayValue)current).Items;
        if (items.Count != tuple.Items.Count)
        {
            throw new TemplateError($"Too {(tuple.Items.Count > items.Count ? "few" : "many")} items to unpack");
        }

        return items;
    }

    private static void Bind(Node target, Value current, Scope scope)
    {
        if (target is IdentifierNode id)
        {
            scope.Set(id.Name, current);
            return;
        }

        var tuple = (TupleNode)target;
        var items = UnpackedItems(tuple, current);
        for (var j = 0; j < tuple.Items.Count; j++)
        {
            var name = tuple.Items[j] as IdentifierNode
                ?? throw new TemplateError($"Cannot unpack non-identifier type");
            scope.Set(name.Name, items[j]);
        }
    }
}
