namespace TokenGrid.Inference.Templates;

/// <summary>A node of the template's syntax tree; <see cref="Offset"/> is where it starts in the preprocessed text.</summary>
internal abstract class Node(int offset)
{
    public int Offset { get; } = offset;
}

internal sealed class TextNode(int offset, string text) : Node(offset)
{
    public string Text { get; } = text;
}

internal sealed class CommentNode(int offset) : Node(offset);

internal sealed class IfNode(int offset, Node test, List<Node> body, List<Node> alternate) : Node(offset)
{
    public Node Test { get; } = test;

    public List<Node> Body { get; } = body;

    public List<Node> Alternate { get; } = alternate;
}

internal sealed class ForNode(int offset, Node target, Node iterable, List<Node> body, List<Node> otherwise) : Node(offset)
{
    public Node Target { get; } = target;

    public Node Iterable { get; } = iterable;

    public List<Node> Body { get; } = body;

    public List<Node> Otherwise { get; } = otherwise;
}

internal sealed class BreakNode(int offset) : Node(offset);

internal sealed class ContinueNode(int offset) : Node(offset);

internal sealed class SetNode(int offset, Node target, Node? value, List<Node> body) : Node(offset)
{
    public Node Target { get; } = target;

    public Node? Value { get; } = value;

    public List<Node> Body { get; } = body;
}

internal sealed class MacroNode(int offset, string name, List<Node> parameters, List<Node> body) : Node(offset)
{
    public string Name { get; } = name;

    public List<Node> Parameters { get; } = parameters;

    public List<Node> Body { get; } = body;
}

internal sealed class CallBlockNode(int offset, CallNode call, List<Node> callerParameters, List<Node> body) : Node(offset)
{
    public CallNode Call { get; } = call;

    public List<Node> CallerParameters { get; } = callerParameters;

    public List<Node> Body { get; } = body;
}

internal sealed class FilterBlockNode(int offset, Node filter, List<Node> body) : Node(offset)
{
    public Node Filter { get; } = filter;

    public List<Node> Body { get; } = body;
}

internal sealed class IntegerNode(int offset, double value) : Node(offset)
{
    public double Value { get; } = value;
}

internal sealed class FloatNode(int offset, double value) : Node(offset)
{
    public double Value { get; } = value;
}

internal sealed class StringNode(int offset, string value) : Node(offset)
{
    public string Value { get; } = value;
}

internal sealed class IdentifierNode(int offset, string name) : Node(offset)
{
    public string Name { get; } = name;
}

internal sealed class ArrayNode(int offset, List<Node> items) : Node(offset)
{
    public List<Node> Items { get; } = items;
}

internal sealed class TupleNode(int offset, List<Node> items) : Node(offset)
{
    public List<Node> Items { get; } = items;
}

internal sealed class ObjectNode(int offset, List<(Node Key, Node Value)> entries) : Node(offset)
{
    public List<(Node Key, Node Value)> Entries { get; } = entries;
}

internal sealed class MemberNode(int offset, Node target, Node property, bool computed) : Node(offset)
{
    public Node Target { get; } = target;

    public Node Property { get; } = property;

    public bool Computed { get; } = computed;
}

internal sealed class SliceNode(int offset, Node? start, Node? stop, Node? step) : Node(offset)
{
    public Node? Start { get; } = start;

    public Node? Stop { get; } = stop;

    public Node? Step { get; } = step;
}

internal sealed class CallNode(int offset, Node callee, List<Node> arguments) : Node(offset)
{
    public Node Callee { get; } = callee;

    public List<Node> Arguments { get; } = arguments;
}

internal sealed class KeywordArgumentNode(int offset, string name, Node value) : Node(offset)
{
    public string Name { get; } = name;

    public Node Value { get; } = value;
}

internal sealed class SpreadNode(int offset, Node argument, bool keywords) : Node(offset)
{
    public Node Argument { get; } = argument;

    /// <summary><c>**mapping</c> when true, <c>*sequence</c> otherwise.</summary>
    public bool Keywords { get; } = keywords;
}

internal sealed class BinaryNode(int offset, string op, Node left, Node right) : Node(offset)
{
    public string Operator { get; } = op;

    public Node Left { get; } = left;

    public Node Right { get; } = right;
}

internal sealed class UnaryNode(int offset, string op, Node operand) : Node(offset)
{
    public string Operator { get; } = op;

    public Node Operand { get; } = operand;
}

/// <summary><c>operand | filter</c>; <see cref="Filter"/> is an <see cref="IdentifierNode"/> or a <see cref="CallNode"/>.</summary>
internal sealed class FilterNode(int offset, Node operand, Node filter) : Node(offset)
{
    public Node Operand { get; } = operand;

    public Node Filter { get; } = filter;
}

internal sealed class TestNode(int offset, Node operand, bool negate, string test) : Node(offset)
{
    public Node Operand { get; } = operand;

    public bool Negate { get; } = negate;

    public string Test { get; } = test;
}

/// <summary><c>value if test</c> without <c>else</c>: the value, or undefined.</summary>
internal sealed class SelectNode(int offset, Node value, Node test) : Node(offset)
{
    public Node Value { get; } = value;

    public Node Test { get; } = test;
}

internal sealed class TernaryNode(int offset, Node condition, Node whenTrue, Node whenFalse) : Node(offset)
{
    public Node Condition { get; } = condition;

    public Node WhenTrue { get; } = whenTrue;

    public Node WhenFalse { get; } = whenFalse;
}
