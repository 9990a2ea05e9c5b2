namespace TokenGrid.Inference.Constraints;

/// <summary>Where an array being written is.</summary>
internal enum ArrayPhase
{
    /// <summary>Before <c>[</c>.</summary>
    Open,

    /// <summary>After <c>[</c>: an element or <c>]</c>.</summary>
    First,

    /// <summary>After a comma: an element.</summary>
    Next,

    /// <summary>After an element: a comma or <c>]</c>.</summary>
    AfterElement,
}

/// <summary>An array being written, with <see cref="_count"/> elements so far.</summary>
internal sealed class ArrayFrame : Frame
{
    private readonly ArrayNode _node;
    private readonly ArrayPhase _phase;
    private readonly int _count;
    private readonly int _spaces;

    private ArrayFrame(ArrayNode node, Frame parent, ArrayPhase phase, int count, int spaces)
        : base(parent, Own(node, phase, count))
    {
        _node = node;
        _phase = phase;
        _count = count;
        _spaces = spaces;
    }

    /// <summary>An array of <paramref name="node"/> before its <c>[</c>.</summary>
    public static ArrayFrame Open(ArrayNode node, Frame parent) => new(node, parent, ArrayPhase.Open, 0, 0);

    private static readonly ByteSet s_open = ByteSet.Of("[");
    private static readonly ByteSet s_close = ByteSet.Of("]");
    private static readonly ByteSet s_afterElement = ByteSet.Of(",]");

    /// <inheritdoc/>
    public override int Spaces => _phase == ArrayPhase.Open ? -1 : _spaces;

    /// <inheritdoc/>
    public override ByteSet FirstBytes
    {
        get
        {
            switch (_phase)
            {
                case ArrayPhase.Open:
                    return s_open;
                case ArrayPhase.AfterElement:
                    return SpacesAnd(_spaces, s_afterElement);
            }

            var set = _phase == ArrayPhase.First ? s_close : default;
            if (_node.Element(_count) is { } element)
            {
                set.Union(element.FirstBytes);
            }

            return SpacesAnd(_spaces, set);
        }
    }

    /// <inheritdoc/>
    public override DigitRuns? Digits(TokenVocabulary vocabulary, int limit) =>
        _phase is ArrayPhase.First or ArrayPhase.Next && _node.Element(_count) is { } element
            ? DigitRuns.OfStart(element, new ArrayFrame(_node, Parent!, ArrayPhase.AfterElement, _count + 1, 0), vocabulary, limit)
            : base.Digits(vocabulary, limit);

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (IsSpace(b) && _phase != ArrayPhase.Open)
        {
            if (_spaces < MaxSpaces)
            {
                into.Add(new ArrayFrame(_node, Parent!, _phase, _count, _spaces + 1));
            }

            return;
        }

        switch (_phase)
        {
            case ArrayPhase.Open:
                if (b == '[')
                {
                    into.Add(new ArrayFrame(_node, Parent!, ArrayPhase.First, 0, 0));
                }

                break;
            case ArrayPhase.First when b == ']':
            case ArrayPhase.AfterElement when b == ']':
                if (_count >= _node.MinItems)
                {
                    into.Add(Parent!);
                }

                break;
            case ArrayPhase.AfterElement:
                if (b == ',' && _node.Element(_count) is not null)
                {
                    into.Add(new ArrayFrame(_node, Parent!, ArrayPhase.Next, _count, 0));
                }

                break;
            default:
                if (_node.Element(_count) is { } element && element.FirstBytes.Contains(b))
                {
                    StartWith(element, new ArrayFrame(_node, Parent!, ArrayPhase.AfterElement, _count + 1, 0), b, into);
                }

                break;
        }
    }

    private static int Own(ArrayNode node, ArrayPhase phase, int count) => phase switch
    {
        ArrayPhase.Open => node.MinBytes,
        ArrayPhase.First when node.MinItems == 0 => 1,
        ArrayPhase.First or ArrayPhase.Next => SchemaNode.Add(
            SchemaNode.Add(node.Element(count)?.MinBytes ?? SchemaNode.Unsatisfiable, node.RequiredTail(count + 1)), 1),
        _ => SchemaNode.Add(node.RequiredTail(count), 1),
    };
}
