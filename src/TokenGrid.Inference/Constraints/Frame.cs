namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Where a sequence's output stands inside one value of a constrained output: a persistent stack whose top is this frame
/// and whose rest is <see cref="Parent"/>, the container waiting for the value to end. Frames are immutable: stepping one
/// by a byte makes new frames and shares the parent, so a state can be branched for every token tried without copying.
/// </summary>
internal abstract class Frame
{
    /// <summary>Most whitespace bytes allowed in one place between tokens of JSON (indentation included).</summary>
    public const int MaxSpaces = 20;

    /// <summary>Creates a frame whose own value needs at least <paramref name="own"/> more bytes.</summary>
    protected Frame(Frame? parent, int own)
    {
        Parent = parent;
        Remaining = parent is null ? own : SchemaNode.Add(own, parent.Remaining);
    }

    /// <summary>The container waiting for this value; null only for <see cref="EndFrame"/>.</summary>
    public Frame? Parent { get; }

    /// <summary>Fewest bytes that finish the whole output from here.</summary>
    public int Remaining { get; }

    /// <summary>Whether the value here is already complete: a byte it cannot take goes to <see cref="Parent"/>.</summary>
    public virtual bool CanEnd => false;

    /// <summary>Whether the whole output may end here.</summary>
    public bool Accepts => this is EndFrame || (CanEnd && Parent!.Accepts);

    /// <summary>
    /// The bytes <see cref="Step"/> may take: every byte outside it adds no frame (the set may hold more). Lets a walk
    /// over the vocabulary skip the tokens that begin with a byte no frame takes without stepping each one.
    /// </summary>
    public virtual ByteSet FirstBytes => ByteSet.All;

    /// <summary>
    /// For a frame that takes whitespace as itself with one more space (up to <see cref="MaxSpaces"/>) and any other
    /// byte as it would with none: the spaces it has taken in a row. -1 for the others.
    /// </summary>
    public virtual int Spaces => -1;

    /// <summary>
    /// The tokens made of ASCII digits only (of <paramref name="vocabulary"/>) that this frame takes and that leave some
    /// frame able to finish within <paramref name="limit"/> bytes; null when that is not known without stepping them.
    /// By default, none when no digit can come first.
    /// </summary>
    public virtual DigitRuns? Digits(TokenVocabulary vocabulary, int limit) => FirstBytes.HasDigit ? null : DigitRuns.None;

    /// <summary>
    /// The frame whose runs of whitespace a walk may take from the vocabulary's list of them: this one when it takes
    /// whitespace as itself (<see cref="Spaces"/>); for a value that is complete and gives whitespace to its container,
    /// that container when it does; null otherwise.
    /// </summary>
    public virtual Frame? SpacesFrame => Spaces >= 0 ? this : null;

    /// <summary>Whitespace when <paramref name="spaces"/> are below <see cref="MaxSpaces"/>, with <paramref name="rest"/>.</summary>
    protected static ByteSet SpacesAnd(int spaces, ByteSet rest)
    {
        if (spaces < MaxSpaces)
        {
            rest.Union(ByteSet.Spaces);
        }

        return rest;
    }

    /// <summary>Adds to <paramref name="into"/> every frame this one becomes after <paramref name="b"/> (none: the byte is not allowed).</summary>
    public abstract void Step(byte b, List<Frame> into);

    /// <summary>Whether <paramref name="b"/> is JSON whitespace.</summary>
    public static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r';

    /// <summary>Adds the frames that begin a value of <paramref name="node"/>, which then continues to <paramref name="parent"/>.</summary>
    public static void Start(SchemaNode node, Frame parent, List<Frame> into, int depth = 0) => Start(node, parent, into, depth, -1);

    /// <summary>
    /// <see cref="Start(SchemaNode, Frame, List{Frame}, int)"/>, leaving out the options that cannot take
    /// <paramref name="first"/> (a byte) as their first byte; -1 leaves out none.
    /// </summary>
    private static void Start(SchemaNode node, Frame parent, List<Frame> into, int depth, int first)
    {
        if (node.MinBytes >= SchemaNode.Unsatisfiable || depth > 32 || (first >= 0 && !node.FirstBytes.Contains((byte)first)))
        {
            return;
        }

        switch (node)
        {
            case RefNode { Target: { } target }:
                Start(target, parent, into, depth + 1, first);
                break;
            case AnyOfNode any:
                foreach (var option in any.Options)
                {
                    Start(option, parent, into, depth + 1, first);
                }

                break;
            case StringNode s:
                into.Add(new StringFrame(s, parent));
                break;
            case NumberNode n:
                into.Add(new NumberFrame(n, default, parent));
                break;
            case LiteralNode l:
                into.Add(new LiteralFrame(l.Literals, 0, parent));
                break;
            case ObjectNode o:
                into.Add(ObjectFrame.Open(o, parent));
                break;
            case ArrayNode a:
                into.Add(ArrayFrame.Open(a, parent));
                break;
        }
    }

    /// <summary>Starts a value of <paramref name="node"/> and steps each of its first frames by <paramref name="b"/>.</summary>
    public static void StartWith(SchemaNode node, Frame parent, byte b, List<Frame> into)
    {
        // Only the options whose values may begin with the byte are started: a walk steps every value slot by every
        // byte it meets, and most options refuse it.
        if (!node.FirstBytes.Contains(b))
        {
            return;
        }

        var first = new List<Frame>(1);
        Start(node, parent, first, 0, b);
        foreach (var f in first)
        {
            f.Step(b, into);
        }
    }
}

/// <summary>The output is complete: nothing more may be written.</summary>
internal sealed class EndFrame : Frame
{
    private EndFrame()
        : base(null, 0)
    {
    }

    /// <summary>The one end.</summary>
    public static EndFrame Instance { get; } = new();

    /// <inheritdoc/>
    public override bool CanEnd => true;

    /// <inheritdoc/>
    public override ByteSet FirstBytes => default;

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
    }
}

/// <summary>A value of <see cref="Node"/> is due, after optional whitespace (the root, an object's value after its colon).</summary>
internal sealed class ValueSlot(SchemaNode node, Frame parent, int spaces) : Frame(parent, node.MinBytes)
{
    public SchemaNode Node { get; } = node;

    /// <inheritdoc/>
    public override ByteSet FirstBytes => SpacesAnd(spaces, Node.FirstBytes);

    /// <inheritdoc/>
    public override int Spaces => spaces;

    /// <inheritdoc/>
    public override DigitRuns? Digits(TokenVocabulary vocabulary, int limit) => DigitRuns.OfStart(Node, Parent!, vocabulary, limit);

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (IsSpace(b))
        {
            if (spaces < MaxSpaces)
            {
                into.Add(new ValueSlot(Node, Parent!, spaces + 1));
            }

            return;
        }

        StartWith(Node, Parent!, b, into);
    }
}

/// <summary>One of a fixed set of texts (<c>enum</c>, <c>const</c>, <c>true</c>, ...), at a node of their trie.</summary>
internal sealed class LiteralFrame(ByteTrie trie, int node, Frame parent) : Frame(parent, trie.MinRemaining(node))
{
    /// <inheritdoc/>
    public override bool CanEnd => trie.IsTerminal(node);

    /// <inheritdoc/>
    public override ByteSet FirstBytes
    {
        get
        {
            var set = trie.ChildBytes(node);
            if (CanEnd)
            {
                set.Union(Parent!.FirstBytes);
            }

            return set;
        }
    }

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        var next = trie.Next(node, b);
        if (next >= 0)
        {
            // A text that ends here and nothing continues: the value is done, so the container takes over at once.
            into.Add(trie.IsTerminal(next) && !trie.HasChildren(next) ? Parent! : new LiteralFrame(trie, next, Parent!));
        }

        if (CanEnd)
        {
            Parent!.Step(b, into);
        }
    }
}

/// <summary>A number being written.</summary>
internal sealed class NumberFrame(NumberNode node, NumberPrefix prefix, Frame parent)
    : Frame(parent, prefix.Phase == NumberPhase.Start ? node.MinBytes : prefix.IsComplete && node.Bounds.Allows(prefix.Signed) ? 0 : 1)
{
    /// <inheritdoc/>
    public override bool CanEnd => prefix.IsComplete && node.Bounds.Allows(prefix.Signed);

    private static readonly ByteSet s_numberBytes = ByteSet.Of("0123456789.eE+-");

    /// <inheritdoc/>
    public override ByteSet FirstBytes
    {
        get
        {
            var set = s_numberBytes;
            if (CanEnd)
            {
                set.Union(Parent!.FirstBytes);
            }

            return set;
        }
    }

    /// <inheritdoc/>
    public override Frame? SpacesFrame => CanEnd && Parent!.Spaces >= 0 ? Parent : null;

    /// <inheritdoc/>
    public override DigitRuns? Digits(TokenVocabulary vocabulary, int limit)
    {
        // A digit after a complete number goes to the container: it must take none itself. Then the runs do not depend
        // on the container, only whether what it still needs fits in the budget.
        if (Parent!.FirstBytes.HasDigit)
        {
            return null;
        }

        var owing = limit - Parent.Remaining;
        if (node.Bounds is not { Min: null, Max: null })
        {
            return owing < 0 ? DigitRuns.None : new DigitRuns(0, 0, vocabulary.Digits.Table(node, prefix), owing);
        }

        // Without bounds every prefix can still be finished (NumberBounds.Reachable), so a run of digits is taken
        // by the digit counts alone, and the number it leaves is complete.
        if (owing < 0)
        {
            return DigitRuns.None;
        }

        return prefix.Phase switch
        {
            NumberPhase.Start or NumberPhase.Minus => new DigitRuns(1, NumberBounds.MaxIntegerDigits),
            NumberPhase.Integer => new DigitRuns(NumberBounds.MaxIntegerDigits - prefix.IntegerDigits, NumberBounds.MaxIntegerDigits - prefix.IntegerDigits),
            NumberPhase.Point or NumberPhase.Fraction => new DigitRuns(NumberBounds.MaxFractionDigits - prefix.FractionDigits, NumberBounds.MaxFractionDigits - prefix.FractionDigits),
            _ => DigitRuns.None,
        };
    }

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (prefix.Push(b, node.Bounds.Integer) is { } next && node.Bounds.Reachable(next))
        {
            into.Add(new NumberFrame(node, next, Parent!));
        }

        if (CanEnd)
        {
            Parent!.Step(b, into);
        }
    }
}
