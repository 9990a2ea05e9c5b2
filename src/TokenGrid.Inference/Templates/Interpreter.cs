using System.Text;

namespace TokenGrid.Inference.Templates;

/// <summary>
/// Walks the syntax tree and renders text, following @huggingface/jinja 0.5.11's <c>Interpreter</c> node for node.
/// Errors raised below a node are reported at that node's line and column.
/// </summary>
internal sealed class Interpreter(Func<int, SourceLocation> locate)
{
    public string Run(List<Node> program, Scope global) => RenderBlock(program, global);

    public string RenderBlock(List<Node> statements, Scope scope)
    {
        var text = new StringBuilder();
        foreach (var statement in statements)
        {
            var value = Evaluate(statement, scope);
            if (value is not (NullValue or UndefinedValue))
            {
                text.Append(Render(value, statement));
            }
        }

        return text.ToString();
    }

    public Value Evaluate(Node node, Scope scope)
    {
        try
        {
            return EvaluateCore(node, scope);
        }
        catch (TemplateError error)
        {
            var at = locate(node.Offset);
            throw error.Unsupported
                ? new TemplateUnsupportedException(error.Message, Describe(node), at)
                : new TemplateRuntimeException(error.Message, Describe(node), at, error);
        }
        catch (RaiseSignal raised)
        {
            throw new TemplateRaisedException(raised.Message, locate(node.Offset));
        }
    }

    public (List<Value> Positional, OrderedDictionary<string, Value> Keywords) EvaluateArguments(List<Node> args, Scope scope)
    {
        var positional = new List<Value>();
        var keywords = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        foreach (var arg in args)
        {
            if (arg is SpreadNode { Keywords: false } spread)
            {
                positional.AddRange(Evaluate(spread.Argument, scope) is ArrayValue a
                    ? a.Items
                    : throw new TemplateError("Cannot unpack non-iterable type"));
            }
            else if (arg is not (KeywordArgumentNode or SpreadNode))
            {
                positional.Add(Evaluate(arg, scope));
            }
        }

        foreach (var arg in args)
        {
            if (arg is KeywordArgumentNode kw)
            {
                AddKeyword(keywords, kw.Name, Evaluate(kw.Value, scope));
            }
            else if (arg is SpreadNode { Keywords: true } spread)
            {
                var mapping = Evaluate(spread.Argument, scope) as ObjectValue
                    ?? throw new TemplateError("Argument after ** must be a mapping");
                foreach (var (key, value) in mapping.Entries)
                {
                    AddKeyword(keywords, key, value);
                }
            }
        }

        return (positional, keywords);
    }

    private static void AddKeyword(OrderedDictionary<string, Value> keywords, string key, Value value)
    {
        if (!keywords.TryAdd(key, value))
        {
            throw new TemplateError($"Got multiple values for keyword argument '{key}'");
        }
    }

    private string Render(Value value, Node at)
    {
        try
        {
            return value.Render();
        }
        catch (TemplateError error)
        {
            throw new TemplateUnsupportedException(error.Message, Describe(at), locate(at.Offset));
        }
    }

    private Value EvaluateCore(Node node, Scope scope) => node switch
    {
        TextNode t => new StringValue(t.Text),
        CommentNode => NullValue.Instance,
        SetNode set => Statements.Set(this, set, scope),
        IfNode ifNode => new StringValue(RenderBlock(Evaluate(ifNode.Test, scope).IsTruthy ? ifNode.Body : ifNode.Alternate, scope)),
        ForNode forNode => new StringValue(Loops.Run(this, forNode, scope)),
        MacroNode macro => Statements.DefineMacro(this, macro, scope),
        CallBlockNode call => Statements.CallBlock(this, call, scope),
        FilterBlockNode filter => ApplyFilter(new StringValue(RenderBlock(filter.Body, scope)), filter.Filter, scope),
        BreakNode => throw new LoopSignal(isBreak: true),
        ContinueNode => throw new LoopSignal(isBreak: false),
        IntegerNode i => new IntegerValue(i.Value),
        FloatNode f => new FloatValue(f.Value),
        StringNode s => new StringValue(s.Value),
        ArrayNode a => new ArrayValue(a.Items.Select(x => Evaluate(x, scope)).ToList()),
        TupleNode t => new TupleValue(t.Items.Select(x => Evaluate(x, scope)).ToList()),
        ObjectNode o => EvaluateObject(o, scope),
        IdentifierNode id => scope.Lookup(id.Name),
        CallNode call => EvaluateCall(call, scope),
        MemberNode member => EvaluateMember(member, scope),
        UnaryNode unary => Operators.Unary(unary.Operator, Evaluate(unary.Operand, scope)),
        BinaryNode binary => EvaluateBinary(binary, scope),
        FilterNode filter => ApplyFilter(Evaluate(filter.Operand, scope), filter.Filter, scope),
        TestNode test => EvaluateTest(test, scope),
        SelectNode select => Evaluate(select.Test, scope).IsTruthy ? Evaluate(select.Value, scope) : UndefinedValue.Instance,
        TernaryNode ternary => Evaluate(Evaluate(ternary.Condition, scope).IsTruthy ? ternary.WhenTrue : ternary.WhenFalse, scope),
        _ => throw new TemplateError($"Unknown node type: {node.GetType().Name}", unsupported: true),
    };

    private ObjectValue EvaluateObject(ObjectNode node, Scope scope)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in node.Entries)
        {
            var key = Evaluate(keyNode, scope) as StringValue ?? throw new TemplateError("Object keys must be strings");
            entries[key.Text] = Evaluate(valueNode, scope);
        }

        return new ObjectValue(entries);
    }

    private Value EvaluateCall(CallNode call, Scope scope)
    {
        var (args, keywords) = EvaluateArguments(call.Arguments, scope);
        if (keywords.Count > 0)
        {
            args.Add(new KeywordArgumentsValue(keywords));
        }

        var callee = Evaluate(call.Callee, scope);
        return callee is FunctionValue f
            ? f.Invoke(args, scope)
            : throw new TemplateError($"Cannot call something that is not a function: got {callee.TypeName}");
    }

    private Value EvaluateMember(MemberNode member, Scope scope)
    {
        var target = Evaluate(member.Target, scope);
        if (member.Property is SliceNode slice)
        {
            Value Bound(Node? n) => n is null ? UndefinedValue.Instance : Evaluate(n, scope);
            return Members.Slice(target, Bound(slice.Start), Bound(slice.Stop), Bound(slice.Step));
        }

        var property = member switch
        {
            { Computed: true } => Evaluate(member.Property, scope),
            { Property: IntegerNode i } => new IntegerValue(i.Value),
            _ => new StringValue(((IdentifierNode)member.Property).Name),
        };
        return Members.Get(target, property);
    }

    private Value EvaluateBinary(BinaryNode node, Scope scope)
    {
        var left = Evaluate(node.Left, scope);
        return node.Operator switch
        {
            "and" => left.IsTruthy ? Evaluate(node.Right, scope) : left,
            "or" => left.IsTruthy ? left : Evaluate(node.Right, scope),
            _ => Operators.Binary(node.Operator, left, Evaluate(node.Right, scope)),
        };
    }

    private BooleanValue EvaluateTest(TestNode node, Scope scope)
    {
        var operand = Evaluate(node.Operand, scope);
        if (!TemplateTests.Exists(node.Test))
        {
            throw new TemplateError($"Unknown test: {node.Test}", unsupported: true);
        }

        return BooleanValue.Of(TemplateTests.Run(node.Test, operand) != node.Negate);
    }

    private Value ApplyFilter(Value operand, Node filter, Scope scope) => filter switch
    {
        IdentifierNode name => Filters.Apply(operand, name.Name),
        CallNode { Callee: IdentifierNode name } call => FilterCalls.Apply(this, operand, name.Name, call.Arguments, scope),
        _ => throw new TemplateError("Unknown filter", unsupported: true),
    };

    private static string Describe(Node node) => node switch
    {
        FilterNode { Filter: IdentifierNode f } => $"filter '{f.Name}'",
        FilterNode { Filter: CallNode { Callee: IdentifierNode f } } => $"filter '{f.Name}'",
        FilterBlockNode => "{% filter %}",
        TestNode t => $"test '{t.Test}'",
        CallNode { Callee: IdentifierNode f } => $"call of '{f.Name}'",
        CallNode { Callee: MemberNode { Property: IdentifierNode m } } => $"call of method '{m.Name}'",
        CallNode => "call",
        MemberNode { Property: SliceNode } => "slice",
        MemberNode => "attribute or item access",
        BinaryNode b => $"operator '{b.Operator}'",
        UnaryNode u => $"operator '{u.Operator}'",
        ForNode => "{% for %}",
        SetNode => "{% set %}",
        IfNode => "{% if %}",
        MacroNode or CallBlockNode => "macro",
        ObjectNode => "dict literal",
        _ => "expression",
    };
}
