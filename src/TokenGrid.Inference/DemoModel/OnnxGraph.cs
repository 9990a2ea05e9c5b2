using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using TokenGrid.Inference.DemoModel.Onnx;
using DataType = TokenGrid.Inference.DemoModel.Onnx.TensorProto.Types.DataType;

namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// A small writer of ONNX graphs: adds typed inputs and outputs, initializers and nodes, and names node
/// outputs after the current <see cref="Scope"/> so the graph stays readable in a viewer.
/// </summary>
internal sealed class OnnxGraph(string name)
{
    private readonly Dictionary<string, string> _constants = [];
    private readonly Dictionary<string, int> _counters = [];

    public GraphProto Proto { get; } = new() { Name = name };

    /// <summary>Prefix of the generated node and value names, e.g. <c>h.0/attn</c>.</summary>
    public string Scope { get; set; } = "";

    /// <summary>Declares a graph input. A dimension is a fixed size (int) or a symbolic name (string).</summary>
    public string Input(string name, DataType type, params object[] dims)
    {
        Proto.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares a graph output; some node must produce a value of that name.</summary>
    public void Output(string name, DataType type, params object[] dims) => Proto.Output.Add(ValueInfo(name, type, dims));

    /// <summary>Adds a float32 initializer and returns its name.</summary>
    public string Initializer(string name, float[] values, params long[] dims)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        }

        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(dims);
        Proto.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, split sizes), shared by every node that uses the same values.</summary>
    public string Int64s(params long[] values) => Constant("i64", values, DataType.Int64, [values.Length], t => t.Int64Data.Add(values));

    /// <summary>A 0-D int64 constant.</summary>
    public string Int64Scalar(long value) => Constant("i64s", [value], DataType.Int64, [], t => t.Int64Data.Add(value));

    /// <summary>A 0-D float32 constant.</summary>
    public string FloatScalar(float value) => Constant("f32s", [value], DataType.Float, [], t => t.FloatData.Add(value));

    /// <summary>Adds a node with one output and returns the output's name (generated unless given).</summary>
    public string Node(string opType, string[] inputs, string? output = null, params AttributeProto[] attributes) =>
        AddNode(opType, inputs, [output ?? NextName(opType)], attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> generated output names.</summary>
    public string[] Node(string opType, string[] inputs, int outputCount, params AttributeProto[] attributes)
    {
        var baseName = NextName(opType);
        var outputs = outputCount == 1 ? [baseName] : Enumerable.Range(0, outputCount).Select(i => $"{baseName}:{i}").ToArray();
        return AddNode(opType, inputs, outputs, attributes);
    }

    private string[] AddNode(string opType, string[] inputs, string[] outputs, AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{outputs[0]}/node" };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        Proto.Node.Add(node);
        return outputs;
    }

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    public static AttributeProto Attr(string name, DataType type) => Attr(name, (long)type);

    private string NextName(string opType)
    {
        var key = $"{Scope}/{opType}";
        var n = _counters.GetValueOrDefault(key);
        _counters[key] = n + 1;
        return n == 0 ? key : $"{key}_{n}";
    }

    private string Constant<T>(string kind, T[] values, DataType type, long[] dims, Action<TensorProto> fill)
        where T : IFormattable
    {
        var key = $"{kind}[{string.Join(",", values.Select(v => v.ToString(null, CultureInfo.InvariantCulture)))}]";
        if (!_constants.TryGetValue(key, out var constName))
        {
            constName = $"const/{key}";
            var tensor = new TensorProto { Name = constName, DataType = (int)type };
            tensor.Dims.Add(dims);
            fill(tensor);
            Proto.Initializer.Add(tensor);
            _constants[key] = constName;
        }

        return constName;
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension '{dim}' is neither a size nor a name.", nameof(dims)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
