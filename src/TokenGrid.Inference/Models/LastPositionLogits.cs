using Google.Protobuf;
using TokenGrid.Inference.DemoModel.Onnx;
using DataType = TokenGrid.Inference.DemoModel.Onnx.TensorProto.Types.DataType;

namespace TokenGrid.Inference.Models;

/// <summary>
/// Rewrites a decoder so its logits output holds only the last position, which is all prefill reads (a prefill group's
/// rows are padded on the left, so every row ends in the last column; a decode step has one column anyway): walks back
/// from the logits output through per-position nodes (Cast, Identity, Tanh, Add/Sub/Mul/Div by a constant) to the LM
/// head (MatMul or MatMulNBits whose weight is constant) and slices the head's activation input to [:, -1:, :]. Inside an
/// If (Optimum's merged decoder) both branches are rewritten, or neither. Any other graph is left as it is, with why.
/// </summary>
/// <remarks>
/// Exported decoders compute the LM head at every prompt position: on the demo model that is most of a prompt token's
/// work, on small real models a fifth to a third (docs/benchmarks.md). Hand-rolled on the repository's ONNX protobuf
/// subset: no .NET library edits ONNX graphs, and ONNX Runtime's own model editor API builds graphs rather than
/// changing a loaded one.
/// </remarks>
internal static class LastPositionLogits
{
    private static readonly HashSet<string> s_unary = ["Cast", "Identity", "Tanh"];
    private static readonly HashSet<string> s_binary = ["Add", "Sub", "Mul", "Div"];

    /// <summary>Rewrites <paramref name="model"/> in place; returns null on success, else why it was left unchanged (possibly partly walked, never partly changed).</summary>
    public static string? Rewrite(ModelProto model, string logitsName = "logits")
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < 10)
        {
            return $"default-domain opset {opset} has no Slice with inputs (needs 10)";
        }

        var edits = new List<Action>();
        var why = Plan(model.Graph, logitsName, [], edits, depth: 0);
        if (why is not null)
        {
            return why;
        }

        foreach (var edit in edits)
        {
            edit();
        }

        SetSequenceDimToOne(model.Graph.Output.First(o => o.Name == logitsName));
        return null;
    }

    /// <summary>Plans the edits for output <paramref name="output"/> of <paramref name="graph"/>; outer holds the enclosing graphs' constant names.</summary>
    private static string? Plan(GraphProto graph, string output, HashSet<string> outerConstants, List<Action> edits, int depth)
    {
        var producers = new Dictionary<string, NodeProto>();
        var consumers = new Dictionary<string, int>();
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output)
            {
                producers[o] = n;
            }

            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                consumers[i] = consumers.GetValueOrDefault(i) + 1;
            }

            // Subgraphs may read outer values: count them as consumers too.
            foreach (var a in n.Attribute)
            {
                foreach (var sub in SubGraphs(a))
                {
                    foreach (var i in sub.Node.SelectMany(x => x.Input))
                    {
                        consumers[i] = consumers.GetValueOrDefault(i) + 1;
                    }
                }
            }
        }

        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet();
        var constants = new HashSet<string>(outerConstants);
        constants.UnionWith(graph.Initializer.Select(t => t.Name));
        foreach (var n in graph.Node.Where(n => n.OpType == "Constant"))
        {
            constants.Add(n.Output[0]);
        }

        bool IsConstant(string name, int budget = 8) =>
            constants.Contains(name)
            || (budget > 0 && producers.TryGetValue(name, out var p) && p.OpType != "If" && p.Input.Count > 0
                && p.Input.Where(i => i.Length > 0).All(i => IsConstant(i, budget - 1)));

        var chain = new List<string>();
        var current = output;
        while (true)
        {
            if (!producers.TryGetValue(current, out var node))
            {
                return $"'{current}' has no producing node in graph '{graph.Name}'";
            }

            if (current != output && (consumers.GetValueOrDefault(current) != 1 || graphOutputs.Contains(current)))
            {
                return $"'{current}' (between the LM head and '{output}') has other consumers";
            }

            switch (node.OpType)
            {
                case "If" when node.Domain is "" or "ai.onnx" && depth == 0:
                {
                    var index = node.Output.IndexOf(current);
                    foreach (var branch in node.Attribute.Where(a => a.Name is "then_branch" or "else_branch"))
                    {
                        if (branch.G is null)
                        {
                            return $"If node '{node.Name}' has no graph in '{branch.Name}'";
                        }

                        var branchOutput = branch.G.Output[index];
                        var why = Plan(branch.G, branchOutput.Name, constants, edits, depth + 1);
                        if (why is not null)
                        {
                            return $"{branch.Name}: {why}";
                        }

                        edits.Add(() => SetSequenceDimToOne(branchOutput));
                    }

                    return null;
                }

                case var op when s_unary.Contains(op) && node.Domain is "" or "ai.onnx":
                    chain.Add(current);
                    current = node.Input[0];
                    continue;

                case var op when s_binary.Contains(op) && node.Domain is "" or "ai.onnx":
                {
                    // x op c, or c op x for the commutative ones; c constant, broadcast along the last axis at most.
                    var activation = IsConstant(node.Input[1]) ? 0 : IsConstant(node.Input[0]) && op is "Add" or "Mul" ? 1 : -1;
                    if (activation < 0)
                    {
                        return $"{op} node '{node.Name}' has no constant operand";
                    }

                    if (!PerPositionConstant(graph, node.Input[1 - activation]))
                    {
                        return $"{op} node '{node.Name}': constant operand may vary along the sequence axis";
                    }

                    chain.Add(current);
                    current = node.Input[activation];
                    continue;
                }

                case "MatMul" when node.Domain is "" or "ai.onnx":
                case "MatMulNBits" when node.Domain == "com.microsoft":
                {
                    if (!IsConstant(node.Input[1]))
                    {
                        return $"{node.OpType} node '{node.Name}': weight '{node.Input[1]}' is not constant";
                    }

                    chain.Add(current);
                    var head = node;
                    edits.Add(() => InsertSlice(graph, head, chain));
                    return null;
                }

                default:
                    return $"stopped at {node.Domain}{(node.Domain.Length > 0 ? "." : "")}{node.OpType} node '{node.Name}' (not per-position, not an LM head)";
            }
        }
    }

    private static IEnumerable<GraphProto> SubGraphs(AttributeProto a) =>
        a.G is null ? a.Graphs : a.Graphs.Prepend(a.G);

    /// <summary>An initializer or Constant whose dimensions are all 1 except possibly the last (a bias, a scale).</summary>
    private static bool PerPositionConstant(GraphProto graph, string name)
    {
        var tensor = graph.Initializer.FirstOrDefault(t => t.Name == name)
            ?? graph.Node.FirstOrDefault(n => n.OpType == "Constant" && n.Output[0] == name)?.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
        if (tensor is null)
        {
            // An outer-scope or computed constant, whose shape is not known here: not rewritten.
            return false;
        }

        return tensor.Dims.Count <= 1 || tensor.Dims.Take(tensor.Dims.Count - 1).All(d => d == 1);
    }

    /// <summary>head(A, W) becomes head(Slice(A, [-1], [INT64_MAX], [1]), W); value_info of the chain is dropped.</summary>
    private static void InsertSlice(GraphProto graph, NodeProto head, List<string> chain)
    {
        var activation = head.Input[0];
        var prefix = $"{activation}/tokengrid_last_position";
        string Const(string suffix, long value)
        {
            var t = new TensorProto { Name = $"{prefix}/{suffix}", DataType = (int)DataType.Int64 };
            t.Dims.Add(1);
            t.Int64Data.Add(value);
            graph.Initializer.Add(t);
            return t.Name;
        }

        var slice = new NodeProto { Name = prefix, OpType = "Slice" };
        slice.Input.Add([activation, Const("starts", -1), Const("ends", long.MaxValue), Const("axes", 1)]);
        slice.Output.Add(prefix);
        var at = graph.Node.IndexOf(head);
        graph.Node.Insert(at, slice);
        head.Input[0] = prefix;
        var stale = chain.ToHashSet();
        for (var i = graph.ValueInfo.Count - 1; i >= 0; i--)
        {
            if (stale.Contains(graph.ValueInfo[i].Name))
            {
                graph.ValueInfo.RemoveAt(i);
            }
        }
    }

    private static void SetSequenceDimToOne(ValueInfoProto output)
    {
        if (output.Type?.TensorType?.Shape is { Dim.Count: 3 } shape)
        {
            shape.Dim[1] = new TensorShapeProto.Types.Dimension { DimValue = 1 };
        }
    }

    /// <summary>
    /// Graph files larger than this are not rewritten: their weights are inside them, and parsing one holds about three
    /// times its size in memory.
    /// </summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Reads, rewrites and serializes <paramref name="modelPath"/>; null (with why) when the graph was not recognised.</summary>
    public static byte[]? TryRewriteFile(string modelPath, string logitsName, out string? why)
    {
        var size = new FileInfo(modelPath).Length;
        if (size > MaxFileBytes)
        {
            why = $"the graph file holds its weights ({size >> 20} MiB); rewriting it would hold about three times that in memory";
            return null;
        }

        ModelProto model;
        using (var stream = File.OpenRead(modelPath))
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }

        why = Rewrite(model, logitsName);
        return why is null ? model.ToByteArray() : null;
    }
}
