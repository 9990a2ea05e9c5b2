namespace TokenGrid.Inference.Constraints;

/// <summary>
/// One compiled piece of a JSON schema: what values may appear at one place in the output. Immutable once compiled and
/// shared by every sequence generating under the schema. <see cref="MinBytes"/> is the length of the shortest value
/// it allows (<see cref="Unsatisfiable"/> when it allows none), used to steer a sequence to finish within its tokens.
/// </summary>
internal abstract class SchemaNode
{
    /// <summary>The <see cref="MinBytes"/> of a node that allows no value.</summary>
    public const int Unsatisfiable = int.MaxValue / 4;

    /// <summary>Bytes of the shortest value this node allows.</summary>
    public int MinBytes { get; set; } = Unsatisfiable;

    /// <summary>Computes <see cref="MinBytes"/> from the children's current values; true when it went down.</summary>
    public bool Relax()
    {
        var value = Math.Min(ComputeMinBytes(), Unsatisfiable);
        if (value >= MinBytes)
        {
            return false;
        }

        MinBytes = value;
        return true;
    }

    /// <summary>The shortest value's length given the children's current <see cref="MinBytes"/>.</summary>
    protected abstract int ComputeMinBytes();

    private Box? _first;

    /// <summary>
    /// The bytes a value of this node may begin with (every byte after which the frames of
    /// <see cref="Frame.Start(SchemaNode, Frame, List{Frame}, int)"/> take it; possibly more). Computed once.
    /// </summary>
    public ByteSet FirstBytes => (_first ??= new Box(First(this, 0))).Set;

    private static ByteSet First(SchemaNode node, int depth)
    {
        if (depth > 32)
        {
            return ByteSet.All;
        }

        var set = default(ByteSet);
        switch (node)
        {
            case RefNode { Target: { } target }:
                set = First(target, depth + 1);
                break;
            case AnyOfNode any:
                foreach (var option in any.Options)
                {
                    set.Union(First(option, depth + 1));
                }

                break;
            case StringNode:
                set.Add((byte)'"');
                break;
            case NumberNode:
                set = ByteSet.Of("-0123456789");
                break;
            case LiteralNode l:
                set = l.Literals.ChildBytes(0);
                break;
            case ObjectNode:
                set.Add((byte)'{');
                break;
            case ArrayNode:
                set.Add((byte)'[');
                break;
        }

        return set;
    }

    private sealed class Box(ByteSet set)
    {
        public ByteSet Set { get; } = set;
    }

    /// <summary>Adds two lengths, saturating at <see cref="Unsatisfiable"/>.</summary>
    public static int Add(int a, int b) => a >= Unsatisfiable || b >= Unsatisfiable ? Unsatisfiable : Math.Min(a + b, Unsatisfiable);
}

/// <summary>A <c>$ref</c> (or a schema still being compiled): stands for its target, which may contain it again.</summary>
internal sealed class RefNode : SchemaNode
{
    /// <summary>What the reference points to; set once compiled.</summary>
    public SchemaNode? Target { get; set; }

    protected override int ComputeMinBytes() => Target?.MinBytes ?? Unsatisfiable;
}

/// <summary><c>anyOf</c>, <c>oneOf</c>, a list of types: any one of the options.</summary>
internal sealed class AnyOfNode(SchemaNode[] options) : SchemaNode
{
    public SchemaNode[] Options { get; } = options;

    protected override int ComputeMinBytes() => Options.Length == 0 ? Unsatisfiable : Options.Min(o => o.MinBytes);
}

/// <summary>A string, with its length bounds (in code points) and the automaton of its pattern and format.</summary>
internal sealed class StringNode(int minLength, int maxLength, PatternAutomaton? pattern = null) : SchemaNode
{
    /// <summary>What the string's code points must match (<c>pattern</c>, <c>format</c>, both intersected); null for any.</summary>
    public PatternAutomaton? Pattern { get; } = pattern;

    /// <summary>Fewest code points. Default: 0.</summary>
    public int MinLength { get; } = minLength;

    /// <summary>Most code points; <see cref="int.MaxValue"/> for no bound.</summary>
    public int MaxLength { get; } = maxLength;

    protected override int ComputeMinBytes() =>
        MinLength > MaxLength ? Unsatisfiable
        : Pattern is { } p ? (p.MinRemaining(p.Start) is var shortest && shortest <= MaxLength ? Add(2, Math.Max(MinLength, shortest)) : Unsatisfiable)
        : Add(2, MinLength);
}

/// <summary>A number or an integer, with its bounds.</summary>
internal sealed class NumberNode(NumberBounds bounds) : SchemaNode
{
    public NumberBounds Bounds { get; } = bounds;

    protected override int ComputeMinBytes() => Bounds.ShortestLength();
}

/// <summary>A fixed set of JSON texts: <c>enum</c>, <c>const</c>, <c>true</c>, <c>false</c>, <c>null</c>.</summary>
internal sealed class LiteralNode(ByteTrie literals) : SchemaNode
{
    public ByteTrie Literals { get; } = literals;

    protected override int ComputeMinBytes() => Literals.IsEmpty ? Unsatisfiable : Literals.MinRemaining(0);
}

/// <summary>An array: <c>prefixItems</c>, then <c>items</c> (null: no more), within <c>minItems</c>..<c>maxItems</c>.</summary>
internal sealed class ArrayNode(SchemaNode[] prefix, SchemaNode? items, int minItems, int maxItems) : SchemaNode
{
    private int[]? _tail;

    public SchemaNode[] Prefix { get; } = prefix;

    public SchemaNode? Items { get; } = items;

    public int MinItems { get; } = minItems;

    public int MaxItems { get; } = maxItems;

    /// <summary>The element allowed at <paramref name="index"/>, or null when the array cannot be that long.</summary>
    public SchemaNode? Element(int index) => index >= MaxItems ? null : index < Prefix.Length ? Prefix[index] : Items;

    /// <summary>
    /// Bytes of the shortest elements from <paramref name="index"/> up to <see cref="MinItems"/>, each with its comma.
    /// Only once compiled: the sums are kept on first use.
    /// </summary>
    public int RequiredTail(int index)
    {
        var tail = _tail;
        if (tail is null)
        {
            tail = new int[MinItems + 1];
            for (var i = MinItems - 1; i >= 0; i--)
            {
                tail[i] = Add(tail[i + 1], Add(1, Element(i)?.MinBytes ?? Unsatisfiable));
            }

            _tail = tail;
        }

        return index >= MinItems ? 0 : tail[index];
    }

    protected override int ComputeMinBytes()
    {
        // "[" + the first MinItems elements joined by commas + "]": a comma each, the first one's standing for "[".
        var total = MinItems == 0 ? 2 : 1;
        for (var i = 0; i < MinItems; i++)
        {
            total = Add(total, Add(1, Element(i)?.MinBytes ?? Unsatisfiable));
        }

        return total;
    }
}

/// <summary>One declared property of an object.</summary>
/// <param name="Name">The property's name.</param>
/// <param name="Value">What its value may be.</param>
/// <param name="Required">Whether the object must have it.</param>
/// <param name="KeyBytes">The key as written: <c>"name"</c>, quotes included.</param>
internal sealed record ObjectProperty(string Name, SchemaNode Value, bool Required, byte[] KeyBytes)
{
    /// <summary>Bytes of the key, the colon and the shortest value.</summary>
    public int Cost => SchemaNode.Add(KeyBytes.Length + 1, Value.MinBytes);
}

/// <summary>
/// An object: its declared properties, in any order, each at most once; the required ones before it closes; other keys
/// only when <see cref="Additional"/> says what their values may be.
/// </summary>
internal sealed class ObjectNode : SchemaNode
{
    public ObjectNode(ObjectProperty[] properties, SchemaNode? additional)
    {
        Properties = properties;
        Additional = additional;
        Keys = new ByteTrie(properties.Select(p => p.KeyBytes.AsSpan(1).ToArray()).ToArray());
        PropertyAt = new int[Keys.NodeCount];
        Array.Fill(PropertyAt, -1);
        var below = Enumerable.Range(0, Keys.NodeCount).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < properties.Length; i++)
        {
            var key = properties[i].KeyBytes.AsSpan(1).ToArray();
            PropertyAt[Keys.Find(key)] = i;
            foreach (var node in Keys.Path(key))
            {
                below[node].Add(i);
            }
        }

        PropertiesBelow = [.. below.Select(b => b.ToArray())];
    }

    /// <summary>For each node of <see cref="Keys"/>, the properties whose keys pass through it.</summary>
    public int[][] PropertiesBelow { get; }

    public ObjectProperty[] Properties { get; }

    /// <summary>The schema of keys not declared (<c>additionalProperties</c>); null when they are not allowed.</summary>
    public SchemaNode? Additional { get; }

    /// <summary>The declared keys after their opening quote (<c>name"</c>), as a trie.</summary>
    public ByteTrie Keys { get; }

    /// <summary>For each node of <see cref="Keys"/>, the property whose key ends there, or -1.</summary>
    public int[] PropertyAt { get; }

    /// <summary>Bytes to close the object from after a value, with <paramref name="seen"/> written: each required property left, then <c>}</c>.</summary>
    public int CloseCost(PropertySet seen)
    {
        var total = 1;
        for (var i = 0; i < Properties.Length; i++)
        {
            if (Properties[i].Required && !seen.Contains(i))
            {
                total = Add(total, Add(1, Properties[i].Cost));
            }
        }

        return total;
    }

    protected override int ComputeMinBytes()
    {
        // "{" + the required properties joined by commas + "}" is CloseCost's "}" + a comma per property, the first
        // property's comma standing for the "{"; with none required, "{}".
        return Properties.Any(p => p.Required) ? CloseCost(PropertySet.Empty) : 2;
    }
}
