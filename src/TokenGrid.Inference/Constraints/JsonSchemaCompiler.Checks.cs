namespace TokenGrid.Inference.Constraints;

/// <summary>The passes over a compiled schema: shortest lengths, and the limits on choices.</summary>
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>
    /// Refuses a schema whose choices could make a value start in too many ways at once: a reference to itself with no
    /// value in between (left recursion, e.g. <c>anyOf: [{$ref: "#"}, …]</c>), or nested choices multiplying past
    /// <see cref="MaxAlternatives"/>. Either would make every token cost more than a step of the model.
    /// </summary>
    private void CheckAlternatives()
    {
        var width = new Dictionary<SchemaNode, int>(ReferenceEqualityComparer.Instance);
        var open = new HashSet<SchemaNode>(ReferenceEqualityComparer.Instance);
        foreach (var node in _nodes)
        {
            Width(node, width, open);
        }
    }

    /// <summary>Most ways one value may start (the frames a choice opens at once).</summary>
    public const int MaxAlternatives = 256;

    private static int Width(SchemaNode node, Dictionary<SchemaNode, int> width, HashSet<SchemaNode> open)
    {
        if (width.TryGetValue(node, out var known))
        {
            return known;
        }

        if (!open.Add(node))
        {
            throw new ConstraintException("$ref", "A schema that refers to itself before any value is written (left recursion) is not supported.");
        }

        var result = node switch
        {
            RefNode { Target: { } target } => Width(target, width, open),
            AnyOfNode any => any.Options.Where(o => o.MinBytes < SchemaNode.Unsatisfiable).Sum(o => Width(o, width, open)),
            _ => 1,
        };
        open.Remove(node);
        if (result > MaxAlternatives)
        {
            throw new ConstraintException("anyOf", $"The schema's choices open more than {MaxAlternatives} ways for one value to start.");
        }

        width[node] = result;
        return result;
    }

    private void Solve()
    {
        // Shortest lengths, to a fixed point: recursive schemas settle once every cycle has been relaxed.
        for (var round = 0; round <= _nodes.Count; round++)
        {
            var changed = false;
            for (var i = _nodes.Count - 1; i >= 0; i--)
            {
                changed |= _nodes[i].Relax();
            }

            if (!changed)
            {
                return;
            }
        }
    }
}
