namespace TokenGrid.Inference.Constraints;

/// <summary>Where an object being written is.</summary>
internal enum ObjectPhase
{
    /// <summary>Before <c>{</c>.</summary>
    Open,

    /// <summary>After <c>{</c>: a key or <c>}</c>.</summary>
    First,

    /// <summary>After a comma: a key.</summary>
    Next,

    /// <summary>After a key: the colon.</summary>
    AfterKey,

    /// <summary>After a value: a comma or <c>}</c>.</summary>
    AfterValue,
}

/// <summary>
/// An object being written: declared keys in any order, each at most once; free keys (when the schema allows them)
/// that are neither declared nor repeated; <c>}</c> only once every required property is there.
/// </summary>
internal sealed class ObjectFrame : Frame
{
    private static readonly StringNode s_freeKey = new(0, int.MaxValue) { MinBytes = 2 };
    private readonly ObjectNode _node;
    private readonly ObjectPhase _phase;
    private readonly PropertySet _seen;
    private readonly string[] _freeKeys;
    private readonly int _property;
    private readonly int _spaces;
    private readonly int _own;

    private ObjectFrame(ObjectNode node, Frame parent, ObjectPhase phase, PropertySet seen, string[] freeKeys, int property, int spaces)
        : this(node, parent, phase, seen, freeKeys, property, spaces, Own(node, phase, seen, property))
    {
    }

    private ObjectFrame(ObjectNode node, Frame parent, ObjectPhase phase, PropertySet seen, string[] freeKeys, int property, int spaces, int own)
        : base(parent, own)
    {
        _node = node;
        _phase = phase;
        _seen = seen;
        _freeKeys = freeKeys;
        _property = property;
        _spaces = spaces;
        _own = own;
    }

    /// <summary>An object of <paramref name="node"/> before its <c>{</c>.</summary>
    public static ObjectFrame Open(ObjectNode node, Frame parent) => new(node, parent, ObjectPhase.Open, PropertySet.Empty, [], -1, 0);

    /// <summary>The object's schema.</summary>
    public ObjectNode Node => _node;

    /// <summary>The properties written so far.</summary>
    public PropertySet Seen => _seen;

    private static readonly ByteSet s_open = ByteSet.Of("{");
    private static readonly ByteSet s_first = ByteSet.Of("\"}");
    private static readonly ByteSet s_next = ByteSet.Of("\"");
    private static readonly ByteSet s_afterKey = ByteSet.Of(":");
    private static readonly ByteSet s_afterValue = ByteSet.Of(",}");

    /// <inheritdoc/>
    public override int Spaces => _phase == ObjectPhase.Open ? -1 : _spaces;

    /// <inheritdoc/>
    public override ByteSet FirstBytes => _phase switch
    {
        ObjectPhase.Open => s_open,
        ObjectPhase.First => SpacesAnd(_spaces, s_first),
        ObjectPhase.Next => SpacesAnd(_spaces, s_next),
        ObjectPhase.AfterKey => SpacesAnd(_spaces, s_afterKey),
        _ => SpacesAnd(_spaces, s_afterValue),
    };

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (IsSpace(b) && _phase != ObjectPhase.Open)
        {
            if (_spaces < MaxSpaces)
            {
                // Whitespace changes nothing the object still needs.
                into.Add(new ObjectFrame(_node, Parent!, _phase, _seen, _freeKeys, _property, _spaces + 1, _own));
            }

            return;
        }

        switch (_phase)
        {
            case ObjectPhase.Open when b == '{':
                into.Add(With(ObjectPhase.First, _seen, _freeKeys, -1, 0));
                break;
            case ObjectPhase.First or ObjectPhase.Next when b == '"':
                if (UnseenBelow(0))
                {
                    into.Add(new KeyFrame(this, 0, 0));
                }

                if (_node.Additional is not null)
                {
                    into.Add(new StringFrame(s_freeKey, With(ObjectPhase.AfterKey, _seen, _freeKeys, -1, 0)));
                }

                break;
            case ObjectPhase.AfterKey when b == ':':
                var value = _property >= 0 ? _node.Properties[_property].Value : _node.Additional!;
                var seen = _property >= 0 ? _seen.With(_property) : _seen;
                into.Add(new ValueSlot(value, With(ObjectPhase.AfterValue, seen, _freeKeys, -1, 0), 0));
                break;
            case ObjectPhase.AfterValue when b == ',' && (_node.Additional is not null || UnseenBelow(0)):
                into.Add(With(ObjectPhase.Next, _seen, _freeKeys, -1, 0));
                break;
            case ObjectPhase.First or ObjectPhase.AfterValue when b == '}' && RequiredDone():
                into.Add(Parent!);
                break;
        }
    }

    /// <summary>This object after the declared key of <paramref name="property"/>.</summary>
    public ObjectFrame AfterKey(int property) => With(ObjectPhase.AfterKey, _seen, _freeKeys, property, 0);

    /// <summary>This object (after a free key's opening) once the free key <paramref name="key"/> is written; null when not allowed.</summary>
    public ObjectFrame? WithFreeKey(string key)
    {
        foreach (var p in _node.Properties)
        {
            if (p.Name == key)
            {
                return null;
            }
        }

        return Array.IndexOf(_freeKeys, key) >= 0 ? null : With(ObjectPhase.AfterKey, _seen, [.. _freeKeys, key], -1, 0);
    }

    /// <summary>
    /// This object (after a free key's opening) once a free key it does not have yet is written, without that key in
    /// its list: for what a token writes after the key when that writes no other key.
    /// </summary>
    public ObjectFrame AfterFreeKey() => With(ObjectPhase.AfterKey, _seen, _freeKeys, -1, 0);

    /// <summary>The keys a free key may not be: the declared ones and the free ones written.</summary>
    public IEnumerable<string> UsedKeys => _node.Properties.Select(p => p.Name).Concat(_freeKeys);

    /// <summary>Whether a declared property not written yet has a key through <paramref name="trieNode"/>.</summary>
    public bool UnseenBelow(int trieNode)
    {
        foreach (var i in _node.PropertiesBelow[trieNode])
        {
            if (!_seen.Contains(i))
            {
                return true;
            }
        }

        return false;
    }

    private bool RequiredDone()
    {
        for (var i = 0; i < _node.Properties.Length; i++)
        {
            if (_node.Properties[i].Required && !_seen.Contains(i))
            {
                return false;
            }
        }

        return true;
    }

    private ObjectFrame With(ObjectPhase phase, PropertySet seen, string[] freeKeys, int property, int spaces) =>
        new(_node, Parent!, phase, seen, freeKeys, property, spaces);

    private static int Own(ObjectNode node, ObjectPhase phase, PropertySet seen, int property)
    {
        var close = node.CloseCost(seen);
        var anyRequired = close > 1;
        switch (phase)
        {
            case ObjectPhase.Open:
                return node.MinBytes;
            case ObjectPhase.First:
                return anyRequired ? close - 1 : 1;
            case ObjectPhase.Next:
                if (anyRequired)
                {
                    return close - 1;
                }

                var cheapest = node.Additional is { } extra ? SchemaNode.Add(3, extra.MinBytes) : SchemaNode.Unsatisfiable;
                for (var i = 0; i < node.Properties.Length; i++)
                {
                    cheapest = seen.Contains(i) ? cheapest : Math.Min(cheapest, node.Properties[i].Cost);
                }

                return SchemaNode.Add(cheapest, 1);
            case ObjectPhase.AfterKey:
                var valueBytes = property >= 0 ? node.Properties[property].Value.MinBytes : node.Additional!.MinBytes;
                var after = property >= 0 ? node.CloseCost(seen.With(property)) : close;
                return SchemaNode.Add(SchemaNode.Add(1, valueBytes), after);
            default:
                return close;
        }
    }
}

/// <summary>A declared key of an object being written, after its opening quote, at a node of the object's key trie.</summary>
internal sealed class KeyFrame(ObjectFrame owner, int trieNode, int depth) : Frame(owner.Parent, Own(owner, trieNode, depth))
{
    /// <inheritdoc/>
    public override ByteSet FirstBytes => owner.Node.Keys.ChildBytes(trieNode);

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        var next = owner.Node.Keys.Next(trieNode, b);
        if (next < 0 || !owner.UnseenBelow(next))
        {
            return;
        }

        var property = owner.Node.PropertyAt[next];
        into.Add(property >= 0 ? owner.AfterKey(property) : new KeyFrame(owner, next, depth + 1));
    }

    private static int Own(ObjectFrame owner, int trieNode, int depth)
    {
        var node = owner.Node;
        var close = node.CloseCost(owner.Seen);
        var best = SchemaNode.Unsatisfiable;
        foreach (var i in node.PropertiesBelow[trieNode])
        {
            if (owner.Seen.Contains(i))
            {
                continue;
            }

            var p = node.Properties[i];
            var keyLeft = p.KeyBytes.Length - 1 - depth;
            var after = p.Required ? close - SchemaNode.Add(1, p.Cost) : close;
            best = Math.Min(best, SchemaNode.Add(SchemaNode.Add(keyLeft + 1, p.Value.MinBytes), after));
        }

        return best;
    }
}
