namespace TokenGrid.Inference.Constraints;

/// <summary>A node of a parsed pattern: only what decides the language (no captures, no laziness).</summary>
internal abstract class RegexNode
{
    /// <summary>The empty string.</summary>
    public static RegexNode Empty { get; } = new SequenceNode([]);
}

/// <summary>One code point from a set.</summary>
internal sealed class SetNode(CodePointSet set) : RegexNode
{
    public CodePointSet Set { get; } = set;
}

/// <summary>Its parts one after another.</summary>
internal sealed class SequenceNode(IReadOnlyList<RegexNode> parts) : RegexNode
{
    public IReadOnlyList<RegexNode> Parts { get; } = parts;
}

/// <summary>Any one of its choices.</summary>
internal sealed class AlternationNode(IReadOnlyList<RegexNode> choices) : RegexNode
{
    public IReadOnlyList<RegexNode> Choices { get; } = choices;
}

/// <summary><see cref="Body"/> repeated <see cref="Min"/> to <see cref="Max"/> times; <see cref="Max"/> -1 is unbounded.</summary>
internal sealed class RepeatNode(RegexNode body, int min, int max) : RegexNode
{
    public RegexNode Body { get; } = body;

    public int Min { get; } = min;

    public int Max { get; } = max;
}
