using System.Globalization;
using TokenGrid.Inference.DemoModel.Onnx;
using static TokenGrid.Inference.DemoModel.OnnxGraph;
using DataType = TokenGrid.Inference.DemoModel.Onnx.TensorProto.Types.DataType;

namespace TokenGrid.Inference.DemoModel;

/// <summary>
/// The demo model's ONNX graph: GPT-2 (learned positions, pre-LayerNorm blocks, tied LM head) from standard
/// operators only, opset 17, with the inputs and outputs <see cref="DemoModelSpec"/> asks for.
/// </summary>
internal sealed partial class Gpt2Graph
{
    public const string Batch = "batch_size";
    public const string Sequence = "sequence_length";
    public const string Past = "past_sequence_length";
    public const string Total = "total_sequence_length";
    public const string UseCacheBranch = "use_cache_branch";

    private const float LayerNormEpsilon = 1e-5f;

    // Masked scores: finite, so a row with every key masked (a padding query) still softmaxes without NaN.
    private const float MaskedScore = -1e9f;

    private readonly DemoModelSpec _spec;
    private readonly OnnxGraph _g = new("tokengrid_demo_gpt2");
    private readonly DataType _idType;
    private readonly DataType _kvType;

    private Gpt2Graph(DemoModelSpec spec)
    {
        _spec = spec;
        _idType = spec.IdType == TokenIdType.Int64 ? DataType.Int64 : DataType.Int32;
        _kvType = spec.KvPrecision == TensorPrecision.Float32 ? DataType.Float : DataType.Float16;
    }

    public static ModelProto Build(DemoModelSpec spec)
    {
        spec.Validate();
        var graph = new Gpt2Graph(spec);
        graph.AddGraph();
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "TokenGrid.DemoModelBuilder",
            ProducerVersion = DemoModelSpec.FormatVersion.ToString(CultureInfo.InvariantCulture),
            DocString = "A GPT-2-architecture decoder with deterministic random weights, for tests and demos.",
            Graph = graph._g.Proto,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "tokengrid.demo_model", Value = spec.CacheKey });
        return model;
    }

    private void AddGraph()
    {
        var (v, d, c) = (_spec.VocabSize, _spec.HiddenSize, _spec.ContextLength);
        _g.Input("input_ids", _idType, Batch, Sequence);
        _g.Input("attention_mask", _idType, Batch, Total);
        if (_spec.PositionIdsInput)
        {
            _g.Input("position_ids", _idType, Batch, Sequence);
        }

        if (_spec.UseCacheBranch)
        {
            _g.Input(UseCacheBranch, DataType.Bool, 1);
        }

        _g.Output("logits", _spec.LogitsPrecision == TensorPrecision.Float32 ? DataType.Float : DataType.Float16, Batch, Sequence, v);
        AddCacheInputsAndOutputs();

        var wte = _g.Initializer("transformer.wte.weight", Gpt2Weights.TokenEmbedding(_spec), v, d);
        var wpe = _g.Initializer("transformer.wpe.weight", Gpt2Weights.Normal(_spec, "transformer.wpe.weight", c * d, Gpt2Weights.PositionStd), c, d);

        _g.Scope = "embed";
        var positions = _spec.PositionIdsInput ? "position_ids" : PositionsFromMask();
        var x = _g.Node("Add", [_g.Node("Gather", [wte, "input_ids"]), _g.Node("Gather", [wpe, positions])]);

        var allowed = AttentionAllowed();
        for (var layer = 0; layer < _spec.Layers; layer++)
        {
            x = Block(layer, x, allowed);
        }

        _g.Scope = "head";
        var final = LayerNorm(x, "transformer.ln_f");
        var transposedWte = _g.Node("Transpose", [wte], null, Attr("perm", 1L, 0L));
        if (_spec.LogitsPrecision == TensorPrecision.Float32)
        {
            _g.Node("MatMul", [final, transposedWte], "logits");
        }
        else
        {
            _g.Node("Cast", [_g.Node("MatMul", [final, transposedWte])], "logits", Attr("to", DataType.Float16));
        }
    }

    private void AddCacheInputsAndOutputs()
    {
        var (h, hd) = (_spec.KeyValueHeads, _spec.HeadSize);
        for (var layer = 0; layer < _spec.Layers; layer++)
        {
            if (_spec.KvLayout == KvCacheLayout.PerLayerKeyValue)
            {
                _g.Input($"past_key_values.{layer}.key", _kvType, Batch, h, Past, hd);
                _g.Input($"past_key_values.{layer}.value", _kvType, Batch, h, Past, hd);
                _g.Output($"present.{layer}.key", _kvType, Batch, h, Total, hd);
                _g.Output($"present.{layer}.value", _kvType, Batch, h, Total, hd);
            }
            else
            {
                _g.Input($"past_{layer}", _kvType, 2, Batch, h, Past, hd);
                _g.Output($"present_{layer}", _kvType, 2, Batch, h, Total, hd);
            }
        }
    }

    /// <summary>Positions when the model has no position_ids input: count of real tokens before each column.</summary>
    private string PositionsFromMask()
    {
        var mask = _idType == DataType.Int64 ? "attention_mask" : _g.Node("Cast", ["attention_mask"], null, Attr("to", DataType.Int64));
        var counted = _g.Node("CumSum", [mask, _g.Int64Scalar(1)]);
        var positions = _g.Node("Max", [_g.Node("Sub", [counted, _g.Int64Scalar(1)]), _g.Int64Scalar(0)]);
        var sequence = _g.Node("Shape", ["input_ids"], null, Attr("start", 1L), Attr("end", 2L));
        return _g.Node("Slice", [positions, _g.Node("Neg", [sequence]), _g.Int64s(long.MaxValue), _g.Int64s(1)]);
    }

    /// <summary>
    /// [batch, 1, seq, total] booleans: query i (absolute column total - seq + i) may see key column j when
    /// j is not later than it and the mask marks j as a real token.
    /// </summary>
    private string AttentionAllowed()
    {
        _g.Scope = "mask";
        var sequence = _g.Node("Shape", ["input_ids"], null, Attr("start", 1L), Attr("end", 2L));
        var total = _g.Node("Shape", ["attention_mask"], null, Attr("start", 1L), Attr("end", 2L));
        var past = _g.Node("Sub", [total, sequence]);
        var axis0 = _g.Int64s(0);
        var totalScalar = _g.Node("Squeeze", [total, axis0]);
        var pastScalar = _g.Node("Squeeze", [past, axis0]);
        var keys = _g.Node("Range", [_g.Int64Scalar(0), totalScalar, _g.Int64Scalar(1)]);
        var queries = _g.Node("Range", [pastScalar, totalScalar, _g.Int64Scalar(1)]);
        var causal = _g.Node("LessOrEqual", [_g.Node("Unsqueeze", [keys, axis0]), _g.Node("Unsqueeze", [queries, _g.Int64s(1)])]);
        var real = _g.Node("Unsqueeze", [_g.Node("Cast", ["attention_mask"], null, Attr("to", DataType.Bool)), _g.Int64s(1, 2)]);
        return _g.Node("And", [causal, real]);
    }

    private string LayerNorm(string x, string prefix)
    {
        var gain = _g.Initializer($"{prefix}.weight", Gpt2Weights.Ones(_spec.HiddenSize), _spec.HiddenSize);
        var bias = _g.Initializer($"{prefix}.bias", Gpt2Weights.Normal(_spec, $"{prefix}.bias", _spec.HiddenSize, Gpt2Weights.BiasStd), _spec.HiddenSize);
        return _g.Node("LayerNormalization", [x, gain, bias], null, Attr("axis", -1L), Attr("epsilon", LayerNormEpsilon));
    }
}
